"""filestore.local: a folder as a storage whose files appear whole or not at all."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command

from filestore.checks import private_storages_are_not_served
from filestore.local import LocalStorage
from tests.processes import ROOT


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(location=tmp_path / "store")


def test_a_written_file_is_invisible_until_the_writer_finishes(storage, tmp_path):
    with storage.atomic_writer("a/b/file.bin", sha256=True) as out:
        out.write(b"first ")
        out.write(b"second")
        assert not storage.exists("a/b/file.bin")
        assert files_in(tmp_path / "store") == []  # not even under a temporary name

    assert storage.open("a/b/file.bin").read() == b"first second"
    assert out.size == 12
    assert out.sha256 == hashlib.sha256(b"first second").hexdigest()
    assert stat.S_IMODE((tmp_path / "store/a/b/file.bin").stat().st_mode) == 0o644


def test_a_writer_that_fails_leaves_the_old_file_and_nothing_else(storage, tmp_path):
    storage.save("file.bin", ContentFile(b"old"))

    with pytest.raises(RuntimeError), storage.atomic_writer("file.bin") as out:
        out.write(b"half of the new")
        raise RuntimeError("disk full")

    assert storage.open("file.bin").read() == b"old"
    assert files_in(tmp_path / "store") == ["file.bin"]


def test_saving_a_name_again_replaces_the_file_in_place(storage):
    first = storage.save("posts/1/5x5.jpg", ContentFile(b"one"))
    second = storage.save("posts/1/5x5.jpg", ContentFile(b"two"))

    assert first == second == "posts/1/5x5.jpg"  # deterministic: no name_xyz.jpg
    assert storage.open(second).read() == b"two"


def test_save_many_writes_every_file_and_leaves_no_temporary_file(storage, tmp_path):
    files = {f"posts/7/{n}.jpg": bytes([n]) * 100 for n in range(6)}

    assert storage.save_many(files) == list(files)

    assert files_in(tmp_path / "store") == sorted(files)
    for name, data in files.items():
        assert storage.open(name).read() == data
    assert list(storage.read_many(reversed(files))) == list(reversed(files.values()))


def test_delete_folder_removes_every_file_under_it(storage, tmp_path):
    storage.save_many({"posts/7/a.jpg": b"a", "posts/7/b.jpg": b"b", "posts/8/a.jpg": b"c"})

    storage.delete_folder("posts/7")
    storage.delete_folder("posts/9")  # missing: fine

    assert files_in(tmp_path / "store") == ["posts/8/a.jpg"]


def test_a_writer_killed_mid_write_leaves_nothing(tmp_path):
    folder = tmp_path / "store"
    script = textwrap.dedent(
        f"""
        import os, signal, django
        django.setup()
        from filestore.local import LocalStorage
        with LocalStorage(location={str(folder)!r}).atomic_writer("big.bin") as out:
            out.write(b"x" * 3_000_000)
            out.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=False)

    assert done.returncode == -signal.SIGKILL
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_private_files_have_no_url_and_public_ones_do(settings, tmp_path):
    settings.MEDIA_URL = "/media/"
    public = LocalStorage(location=tmp_path)
    private = LocalStorage(location=tmp_path, public=False)

    assert public.url("posts/1/5x5.jpg") == "/media/posts/1/5x5.jpg"
    with pytest.raises(ValueError, match="not accessible via a URL"):
        private.url("originals/a.jpg")


def test_the_folder_follows_the_setting_it_names(settings, tmp_path):
    settings.ROLLS_ROOT = tmp_path / "first"
    rolls = storages["rolls"]
    rolls.save("1/a.pdf", ContentFile(b"%PDF"))

    settings.ROLLS_ROOT = tmp_path / "second"
    rolls.save("1/a.pdf", ContentFile(b"%PDF"))

    assert files_in(tmp_path) == ["first/1/a.pdf", "second/1/a.pdf"]
    assert not rolls.public
    assert not rolls.fsync  # rolls are made again from the database, not flushed one by one


def test_prepare_storage_makes_every_folder(settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    settings.ROLLS_ROOT = tmp_path / "rolls"

    call_command("prepare_storage")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["media", "rolls", "uploads"]
    assert f"rolls: folder {tmp_path / 'rolls'}" in capsys.readouterr().out


def test_a_private_folder_inside_the_served_media_fails_the_checks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    settings.ROLLS_ROOT = tmp_path / "rolls"
    assert private_storages_are_not_served() == []

    settings.ROLLS_ROOT = tmp_path / "media" / "rolls"

    (error,) = private_storages_are_not_served()
    assert error.id == "filestore.E001"
    assert "'rolls'" in error.msg
