"""Local folders as storages, written so that no reader ever sees half a file.

A file is written with no name at all (Linux's ``O_TMPFILE``) and linked under its
name once complete, so a writer killed at any moment (SIGKILL, the OOM killer, a time
limit) leaves either the old file or the new one and nothing else. Where ``O_TMPFILE``
is missing, it is written under a hidden temporary name beside its final one and
renamed; only a kill between the two can leave that temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_makedirs
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property

# Bytes gathered before a write reaches the file: zip headers and small PDF chunks
# would otherwise cost a system call each.
WRITE_BUFFER = 256 * 1024


def _unnamed_file(folder: Path) -> int | None:
    """Open a file with no name in ``folder``; None where the system cannot."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o600)
    except OSError:  # a filesystem without O_TMPFILE support
        return None


class AtomicFile:
    """A file being written to ``path``: nobody sees it before ``publish()``.

    ``discard()`` (or the writer's death) leaves nothing behind. ``size`` counts the
    bytes written and ``sha256`` (when asked for) is their digest, taken on the way.
    """

    def __init__(self, path: Path, *, mode: int = 0o644, sha256: bool = False) -> None:
        self.path = path
        self.mode = mode
        self.size = 0
        self._digest = hashlib.sha256() if sha256 else None
        fd = _unnamed_file(path.parent)
        self._temporary: Path | None = None
        if fd is None:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
            self._temporary = Path(name)
        self._file = os.fdopen(fd, "wb", buffering=WRITE_BUFFER)

    @property
    def sha256(self) -> str | None:
        return self._digest.hexdigest() if self._digest else None

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self.size += len(data)
        if self._digest is not None:
            self._digest.update(data)
        return len(data)

    def flush(self) -> None:
        self._file.flush()

    def sync(self) -> None:
        """Flush the bytes to the disk, so a power cut after publishing loses nothing."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def publish(self) -> None:
        """Give the complete file its name, replacing any file of that name at once."""
        self._file.flush()
        # mkstemp and O_TMPFILE make the file 0600; web servers and workers must read it.
        os.fchmod(self._file.fileno(), self.mode)
        try:
            if self._temporary is None:
                self._link_unnamed()
            else:
                os.replace(self._temporary, self.path)
                self._temporary = None
        finally:
            self.discard()

    def _link_unnamed(self) -> None:
        folder = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        source = f"/proc/self/fd/{self._file.fileno()}"
        try:
            # A directory fd makes os.link use linkat(AT_SYMLINK_FOLLOW), which follows
            # the /proc link to the unnamed file; plain link() would not.
            try:
                os.link(source, self.path.name, dst_dir_fd=folder, follow_symlinks=True)
                return
            except FileExistsError:
                pass
            # link() never replaces a file: name it beside, then rename over the old one.
            temporary = f".{self.path.name}.{uuid.uuid4().hex}.tmp"
            os.link(source, temporary, dst_dir_fd=folder, follow_symlinks=True)
            try:
                os.replace(temporary, self.path.name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                os.unlink(temporary, dir_fd=folder)
                raise
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Close the file; an unpublished one is gone."""
        if not self._file.closed:
            # A failed flush of bytes nobody will read is no error.
            with contextlib.suppress(OSError):
                self._file.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None


def move_atomically(source: str | Path, path: Path, *, mode: int, fsync: bool) -> bool:
    """Rename the complete file ``source`` to ``path``; False if they are on two filesystems.

    The file gets ``mode`` (and reaches the disk) under its old name, so ``path`` only
    ever names the whole file.
    """
    if os.stat(source).st_dev != os.stat(path.parent).st_dev:
        return False
    if fsync:
        with open(source, "rb") as written:
            os.fsync(written.fileno())
    os.chmod(source, mode)
    try:
        os.rename(source, path)
    except OSError as exc:
        # Two mounts of one filesystem (a bind mount) share st_dev but refuse a rename.
        if exc.errno == errno.EXDEV:
            return False
        raise
    return True


@deconstructible(path="filestore.local.LocalStorage")
class LocalStorage(FileSystemStorage):
    """A folder as a storage: atomic writes, deterministic names overwritten in place.

    ``location_setting`` names the setting holding the folder (read when first used and
    again when it changes, as MEDIA_ROOT is); ``public=False`` gives its files no URL;
    ``fsync=False`` skips flushing to disk, for files that can be made again.
    """

    def __init__(
        self,
        *,
        location_setting: str = "MEDIA_ROOT",
        public: bool = True,
        fsync: bool = True,
        allow_overwrite: bool = True,
        **options,
    ) -> None:
        super().__init__(allow_overwrite=allow_overwrite, **options)
        self.location_setting = location_setting
        self.public = public
        self.fsync = fsync

    @cached_property
    def base_location(self) -> str:
        # Django's FileSystemStorage keeps the location it was given in _location.
        location = self._location  # type: ignore[attr-defined]
        return str(self._value_or_setting(location, getattr(settings, self.location_setting)))

    @cached_property
    def base_url(self) -> str | None:  # type: ignore[override]  # None: no address at all
        # None: url() raises, so a private file has no address at all.
        public_url = FileSystemStorage.base_url.func  # type: ignore[attr-defined]  # cached
        return public_url(self) if self.public else None

    def _clear_cached_properties(self, setting: str, **kwargs) -> None:
        super()._clear_cached_properties(setting, **kwargs)  # type: ignore[arg-type]  # any name
        if setting == self.location_setting:
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    @property
    def file_mode(self) -> int:
        return self.file_permissions_mode or 0o644

    def _folder_for(self, name: str) -> Path:
        path = Path(self.path(name))
        if self.directory_permissions_mode is not None:
            safe_makedirs(path.parent, self.directory_permissions_mode, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def atomic_writer(self, name: str, *, sha256: bool = False) -> Iterator[AtomicFile]:
        """Write ``name`` chunk by chunk; it appears whole when the block ends, or not at all."""
        writer = AtomicFile(self._folder_for(name), mode=self.file_mode, sha256=sha256)
        try:
            yield writer
            if self.fsync:
                writer.sync()
            writer.publish()
        finally:
            writer.discard()

    def _save(self, name: str, content) -> str:
        path = self._folder_for(name)
        # Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE are already on disk in full
        # (FILE_UPLOAD_TEMP_DIR): rename that file rather than write every byte again.
        # Django's file_move_safe would copy straight to the final name on another
        # filesystem, so a reader could see half a file; the writer below never does.
        if hasattr(content, "temporary_file_path"):
            content.flush()  # the upload handler's last chunk may still be buffered
            if move_atomically(
                content.temporary_file_path(), path, mode=self.file_mode, fsync=self.fsync
            ):
                return name
        with self.atomic_writer(name) as out:
            for chunk in content.chunks():
                out.write(chunk)
        return name

    def save_many(self, files: Mapping[str, bytes]) -> list[str]:
        """Save several small files; none is named until all are written (and flushed).

        Flushing them together lets the filesystem commit them at once, which costs less
        than a write-flush round per file.
        """
        writers = []
        try:
            for name, data in files.items():
                writer = AtomicFile(self._folder_for(name), mode=self.file_mode)
                writers.append(writer)
                writer.write(data)
            if self.fsync:
                for writer in writers:
                    writer.sync()
            for writer in writers:
                writer.publish()
        finally:
            for writer in writers:
                writer.discard()
        return list(files)

    def read_many(
        self, names: Iterable[str], *, missing_ok: bool = False
    ) -> Iterator[bytes | None]:
        """Yield the bytes of each named file, in order; None for a missing one if
        ``missing_ok``, else FileNotFoundError (as object storage's read_many)."""
        for name in names:
            try:
                with self.open(name, "rb") as file:
                    yield file.read()
            except FileNotFoundError:
                if not missing_ok:
                    raise
                yield None

    def delete_folder(self, name: str) -> None:
        """Delete every file under the folder ``name`` (a missing folder is fine)."""
        shutil.rmtree(self.path(name), ignore_errors=True)

    def prepare(self) -> str:
        """Make the storage's folder; return what was done, for the operator."""
        Path(self.location).mkdir(parents=True, exist_ok=True)
        return f"folder {self.location}"
