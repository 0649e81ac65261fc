"""Build ``STORAGES`` for project/settings.py (and for tests that switch storages).

Three storages hold every file the project keeps:

- ``default``: public media (thumbnails), served by URL: ``MEDIA_URL``;
- ``uploads``: private upload originals, read only by workers;
- ``rolls``: private voter-roll files, handed out only by a permission-checked view.

Imported by the settings module, so nothing here touches Django at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The alias of each storage in STORAGES.
MEDIA, UPLOADS, ROLLS = "default", "uploads", "rolls"
# Each storage's variables: S3_MEDIA_*, S3_UPLOADS_*, S3_ROLLS_*.
VARIABLE_NAMES = {MEDIA: "MEDIA", UPLOADS: "UPLOADS", ROLLS: "ROLLS"}


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, dict[str, Any]], str]:
    """Return ``STORAGES`` (without staticfiles) and ``MEDIA_URL`` for these variables.

    ``FILE_STORAGE=local`` (the default) or ``s3``; the README's settings table lists
    the rest. A missing or wrong value raises ImproperlyConfigured naming the variable.
    """
    kind = environ.get("FILE_STORAGE") or "local"
    if kind == "local":
        return local_storages(), environ.get("MEDIA_URL") or "media/"
    if kind != "s3":
        raise ImproperlyConfigured(f"FILE_STORAGE must be local or s3 (got {kind!r}).")
    shared = environ.get("S3_BUCKET", "")
    buckets = {
        alias: environ.get(f"S3_{name}_BUCKET") or shared for alias, name in VARIABLE_NAMES.items()
    }
    for alias, name in VARIABLE_NAMES.items():
        if not buckets[alias]:
            raise ImproperlyConfigured(
                f"FILE_STORAGE=s3 needs a bucket for {name.lower()}: set S3_BUCKET (one "
                f"bucket, a prefix per storage) or S3_{name}_BUCKET."
            )
    # A prefix per storage, so one bucket can hold all three (set one empty for none).
    prefixes = {
        alias: environ.get(f"S3_{name}_PREFIX", name.lower())
        for alias, name in VARIABLE_NAMES.items()
    }
    endpoint_url = environ.get("S3_ENDPOINT_URL", "")
    public_endpoint_url = environ.get("S3_PUBLIC_ENDPOINT_URL") or endpoint_url
    region = environ.get("S3_REGION") or "us-east-1"
    # Path style (endpoint/bucket/key) suits SeaweedFS and MinIO; AWS wants virtual hosts.
    addressing_style = environ.get("S3_ADDRESSING_STYLE") or ("path" if endpoint_url else "virtual")
    if addressing_style not in {"path", "virtual"}:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be path or virtual (got {addressing_style!r})."
        )
    # Where browsers load thumbnails: a CDN in front of the media bucket, or the bucket.
    media_url = environ.get("MEDIA_URL") or media_base_url(
        endpoint_url=public_endpoint_url,
        bucket=buckets[MEDIA],
        prefix=prefixes[MEDIA],
        region=region,
        addressing_style=addressing_style,
    )
    storages = s3_storages(
        buckets=buckets,
        prefixes=prefixes,
        endpoint_url=endpoint_url,
        public_endpoint_url=public_endpoint_url,
        region=region,
        access_key=environ.get("S3_ACCESS_KEY_ID", ""),
        secret_key=environ.get("S3_SECRET_ACCESS_KEY", ""),
        addressing_style=addressing_style,
        media_url=media_url,
    )
    return storages, media_url


def local_storages() -> dict[str, dict[str, Any]]:
    """Folders under MEDIA_ROOT (served), POST_UPLOADS_ROOT and ROLLS_ROOT (never served)."""
    backend = "filestore.local.LocalStorage"
    return {
        MEDIA: {"BACKEND": backend, "OPTIONS": {"location_setting": "MEDIA_ROOT"}},
        UPLOADS: {
            "BACKEND": backend,
            "OPTIONS": {"location_setting": "POST_UPLOADS_ROOT", "public": False},
        },
        ROLLS: {
            "BACKEND": backend,
            # Not flushed to disk one by one: a roll is made again from the database in
            # minutes, and thousands of fsyncs would slow every run for that.
            "OPTIONS": {"location_setting": "ROLLS_ROOT", "public": False, "fsync": False},
        },
    }


def media_base_url(
    *, endpoint_url: str, bucket: str, prefix: str, region: str, addressing_style: str
) -> str:
    """Return the address of a public bucket's objects, as browsers reach it."""
    folder = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    if addressing_style == "path":
        return f"{endpoint_url.rstrip('/')}/{bucket}/{folder}"
    if endpoint_url:
        scheme, _, host = endpoint_url.rstrip("/").partition("://")
        return f"{scheme}://{bucket}.{host}/{folder}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{folder}"


def s3_storages(
    *,
    buckets: dict[str, str],
    prefixes: dict[str, str],
    endpoint_url: str,
    public_endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    addressing_style: str,
    media_url: str,
) -> dict[str, dict[str, Any]]:
    """One S3 storage per alias; ``buckets`` and ``prefixes`` are keyed by alias."""
    connection = {
        "endpoint_url": endpoint_url or None,
        "public_endpoint_url": public_endpoint_url or endpoint_url or "",
        "region_name": region,
        # Empty: boto3 finds credentials itself (AWS_* variables, an instance role).
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "addressing_style": addressing_style,
        "file_overwrite": True,
    }
    return {
        alias: {
            "BACKEND": "filestore.s3.ObjectStorage",
            "OPTIONS": {
                **connection,
                "bucket_name": buckets[alias],
                "location": prefixes[alias].strip("/"),
                "public": alias == MEDIA,
                "public_base_url": media_url if alias == MEDIA else "",
                "querystring_auth": alias != MEDIA,
            },
        }
        for alias in (MEDIA, UPLOADS, ROLLS)
    }
