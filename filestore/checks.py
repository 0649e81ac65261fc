"""System checks: private storages must not sit where a URL serves files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.files.storage import storages

from filestore.configuration import MEDIA, ROLLS, UPLOADS


def _where(alias: str) -> tuple[str, str]:
    """Return (place, path) of a storage: a folder, or a bucket and a key prefix."""
    storage: Any = storages[alias]  # LocalStorage or ObjectStorage: both have a location
    if hasattr(storage, "bucket_name"):
        return f"bucket {storage.bucket_name}", storage.location.strip("/")
    return "folder", str(Path(storage.location).resolve())


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/") or parent == ""


@register("filestore")
def private_storages_are_not_served(app_configs=None, **kwargs) -> list[Error]:
    """Fail when uploads or rolls would live under public media or static files."""
    errors = []
    public = [_where(MEDIA)]
    if settings.STATIC_ROOT:
        public.append(("folder", str(Path(settings.STATIC_ROOT).resolve())))
    for alias in (UPLOADS, ROLLS):
        place, path = _where(alias)
        for served_place, served in public:
            if place == served_place and (_inside(path, served) or _inside(served, path)):
                errors.append(
                    Error(
                        f"The private storage {alias!r} ({place} {path or '/'}) overlaps "
                        f"files served by URL ({served_place} {served or '/'}).",
                        hint="Give uploads and rolls their own folders or bucket prefixes, "
                        "outside MEDIA_ROOT / the media bucket (README, Settings).",
                        id="filestore.E001",
                    )
                )
    return errors
