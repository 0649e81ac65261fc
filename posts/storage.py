"""Which storage each kind of post file lives in (see filestore/ for how they are written)."""

from __future__ import annotations

from django.core.files.storage import Storage

from filestore.storages import MEDIA, UPLOADS, named


def uploads_storage() -> Storage:
    """Return the storage of uploaded originals: private, read only by the thumbnail task.

    A callable keeps the storage out of migrations.
    """
    return named(UPLOADS)


def thumbnails_storage() -> Storage:
    """Return the storage of thumbnails: public media, loaded by URL."""
    return named(MEDIA)
