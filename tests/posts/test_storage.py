"""Uploads reach their final name whole: a spooled upload is renamed, else copied atomically."""

from __future__ import annotations

import os
import random
import stat
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.urls import reverse
from PIL import Image

from posts.models import UserPost
from posts.storage import uploads_storage
from tests.factories import image_bytes

pytestmark = pytest.mark.usefixtures("media")

# A different filesystem from the test's tmp_path (tmpfs on Linux): a rename there fails.
# Only a private folder made inside it by TemporaryDirectory is written to.
OTHER_FILESYSTEM = Path("/dev/shm")  # noqa: S108


def noise_png(size: tuple[int, int] = (1000, 1000)) -> bytes:
    """A PNG of random pixels: it does not compress, so it is about 3 MB."""
    pixels = random.Random(3).randbytes(size[0] * size[1] * 3)
    return image_bytes(Image.frombytes("RGB", size, pixels), "PNG")


def spooled(folder: Path, data: bytes) -> TemporaryUploadedFile:
    """Return an upload spooled to a file in ``folder``, as Django's handler leaves it."""
    upload = TemporaryUploadedFile("x.png", "image/png", len(data), None)
    assert Path(upload.temporary_file_path()).parent == folder
    upload.write(data)
    upload.seek(0)
    return upload


def files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_big_upload_through_the_view_is_renamed_into_place(author_client, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "incoming"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    data = noise_png()
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE  # so Django spools it to disk

    response = author_client.post(
        reverse("posts:create"),
        {"image": SimpleUploadedFile("big.png", data), "caption": "Noise"},
    )

    assert response.status_code == 302
    post = UserPost.objects.get()
    final = Path(post.image.path)
    assert final.read_bytes() == data
    assert stat.S_IMODE(final.stat().st_mode) == 0o644
    # Nothing left behind: no spooled upload, no temporary name beside the original.
    assert files_in(settings.FILE_UPLOAD_TEMP_DIR) == []
    assert files_in(settings.POST_UPLOADS_ROOT) == [final]


def test_spooled_upload_on_the_same_filesystem_is_renamed_not_copied(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "incoming"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    data = noise_png((300, 200))
    upload = spooled(settings.FILE_UPLOAD_TEMP_DIR, data)
    spooled_inode = os.stat(upload.temporary_file_path()).st_ino

    name = uploads_storage().save("originals/a.png", upload)
    upload.close()  # Django closes it after the request; the file is already gone

    final = Path(uploads_storage().path(name))
    assert final.stat().st_ino == spooled_inode  # the same file, renamed
    assert final.read_bytes() == data
    assert stat.S_IMODE(final.stat().st_mode) == 0o644
    assert files_in(settings.FILE_UPLOAD_TEMP_DIR) == []


def test_spooled_upload_on_another_filesystem_is_copied_under_a_temporary_name(settings, tmp_path):
    assert OTHER_FILESYSTEM.stat().st_dev != tmp_path.stat().st_dev
    with tempfile.TemporaryDirectory(dir=OTHER_FILESYSTEM) as folder:
        settings.FILE_UPLOAD_TEMP_DIR = Path(folder)
        data = noise_png((300, 200))
        upload = spooled(Path(folder), data)
        spooled_path = Path(upload.temporary_file_path())

        name = uploads_storage().save("originals/b.png", upload)

        final = Path(uploads_storage().path(name))
        assert final.read_bytes() == data
        assert final.stat().st_ino != spooled_path.stat().st_ino  # a copy
        assert stat.S_IMODE(final.stat().st_mode) == 0o644
        assert files_in(settings.POST_UPLOADS_ROOT) == [final]  # no .part left beside it
        upload.close()
        assert not spooled_path.exists()
