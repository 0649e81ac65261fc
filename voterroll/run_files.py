"""A roll run's files on the rolls storage: its folder, whole-or-nothing writes, deletion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from filestore.local import LocalStorage
from filestore.s3 import ObjectStorage
from filestore.storages import ROLLS, named


def storage() -> LocalStorage | ObjectStorage:
    """The private storage of roll files (ROLLS: a folder or a bucket no URL serves)."""
    return named(ROLLS)


def run_folder(run_id: int) -> str:
    """Return the storage name of a run's folder; every file of the run is under it."""
    return str(run_id)


def write_file(name: str, data: bytes | Iterable[bytes]) -> tuple[int, str]:
    """Store ``data`` (bytes, or chunks of them) as ``name``; return its size and sha256.

    The file appears whole or not at all: atomically linked on local folders, a single
    PUT or a completed multipart upload on object storage.
    """
    chunks = cast(Iterable[bytes], [data] if isinstance(data, bytes | bytearray) else data)
    with storage().atomic_writer(name, sha256=True) as out:
        for chunk in chunks:
            out.write(chunk)
    assert out.sha256 is not None  # asked for above
    return out.size, out.sha256


def location(name: str) -> str:
    """Say where a stored file is, for a person: its absolute path on local folders,
    ``s3://bucket/key`` on object storage."""
    rolls = storage()
    if isinstance(rolls, ObjectStorage):  # no path on this host
        return f"s3://{rolls.bucket_name}/{rolls.key(name)}"
    return rolls.path(name)


def delete_files(run_id: int) -> None:
    """Delete every stored file of a run (a run with none is fine)."""
    storage().delete_folder(run_folder(run_id))
