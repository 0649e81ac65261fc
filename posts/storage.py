"""Which storage each kind of post file lives in (see filestore/ for how they are written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from filestore.storages import MEDIA, UPLOADS, named

if TYPE_CHECKING:
    from filestore.local import LocalStorage
    from filestore.s3 import ObjectStorage


def uploads_storage() -> LocalStorage | ObjectStorage:
    """Return the storage of uploaded originals: private, read only by the thumbnail task.

    A callable keeps the storage out of migrations.
    """
    return named(UPLOADS)


def thumbnails_storage() -> LocalStorage | ObjectStorage:
    """Return the storage of thumbnails: public media, loaded by URL."""
    return named(MEDIA)
