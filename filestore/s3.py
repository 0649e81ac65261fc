"""S3-compatible object storage (AWS S3, SeaweedFS, MinIO, ...) through django-storages.

An object appears whole or not at all: a PUT, or a multipart upload, is visible only
once complete, so the local storage's atomic writes need no equivalent here. On top of
django-storages' ``S3Storage`` this adds what the project's code relies on with either
backend: every failure is an ``OSError`` (``FileNotFoundError`` for a missing object),
reads stream instead of downloading the whole object first, a writer that streams a
large file out as a multipart upload, several small files saved at once, a folder
deleted with one listing, public URLs from a base URL (a CDN, or the bucket), and
presigned URLs signed for the endpoint browsers reach.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import File
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# 8 MiB: S3's smallest part is 5 MiB; 8 is what the AWS CLI and boto3 use.
PART_SIZE = 8 * 1024 * 1024
# Parallel PUTs of one save_many call: a post's six thumbnails go out at once.
SAVE_MANY_THREADS = 8
# Objects fetched at once by read_many: enough to hide a request's latency behind the
# others, few enough that memory holds only a handful of files.
READ_AHEAD = 8
# 1000: the most keys one DeleteObjects request takes.
DELETE_BATCH = 1000


class ObjectStorageError(OSError):
    """The object storage refused or did not answer; often worth retrying."""


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Raise botocore's errors as OSError, so callers handle every backend alike."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            raise ObjectStorageError(
                f"{what}: the bucket does not exist (run `manage.py prepare_storage`)."
            ) from exc
        if status == 404 or code in {"NoSuchKey", "NotFound", "404"}:
            raise FileNotFoundError(f"{what}: no such object") from exc
        raise ObjectStorageError(f"{what}: {code or status} {error.get('Message', '')}") from exc
    except BotoCoreError as exc:
        raise ObjectStorageError(f"{what}: {exc}") from exc


class ObjectReader(io.RawIOBase):
    """An object's body, read as it arrives; errors come out as OSError."""

    def __init__(self, body: Any, what: str) -> None:
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with translated_errors(self._what):
            return self._body.read(None if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class MultipartWriter:
    """Write one object part by part; it exists only once ``publish()`` completes it.

    Memory holds one part at most. A small file (under one part) is a single PUT.
    ``discard()`` aborts the upload; a writer killed before either leaves an incomplete
    upload that no reader sees (a bucket lifecycle rule cleans those up).
    """

    def __init__(
        self, client: Any, *, bucket: str, key: str, params: dict, sha256: bool = False
    ) -> None:
        self._client = client
        self._target = {"Bucket": bucket, "Key": key}
        self._params = params
        self._buffer = bytearray()
        self._parts: list[dict] = []
        self._upload_id: str | None = None
        self._digest = hashlib.sha256() if sha256 else None
        self.size = 0

    @property
    def sha256(self) -> str | None:
        return self._digest.hexdigest() if self._digest else None

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        if self._digest is not None:
            self._digest.update(data)
        while len(self._buffer) >= PART_SIZE:
            # The buffer itself goes out as the part (boto3 takes a bytearray): copying
            # 8 MiB out of it twice made a streamed zip's process 30 MiB bigger.
            part, self._buffer = self._buffer, self._buffer[PART_SIZE:]
            del part[PART_SIZE:]
            self._send_part(part)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: parts go out as they fill."""

    def _send_part(self, data: bytes | bytearray) -> None:
        with translated_errors(self._target["Key"]):
            if self._upload_id is None:
                created = self._client.create_multipart_upload(**self._target, **self._params)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            sent = self._client.upload_part(
                **self._target, UploadId=self._upload_id, PartNumber=number, Body=data
            )
            self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    def publish(self) -> None:
        if self._upload_id is None:
            with translated_errors(self._target["Key"]):
                self._client.put_object(**self._target, Body=self._buffer, **self._params)
            return
        if self._buffer:
            part, self._buffer = self._buffer, bytearray()
            self._send_part(part)
        with translated_errors(self._target["Key"]):
            self._client.complete_multipart_upload(
                **self._target, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._upload_id = None

    def discard(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            # If this fails too, a bucket lifecycle rule removes it; no reader sees it.
            with contextlib.suppress(BotoCoreError, ClientError):
                self._client.abort_multipart_upload(**self._target, UploadId=upload_id)


@deconstructible(path="filestore.s3.ObjectStorage")
class ObjectStorage(S3Storage):
    """A bucket (or a prefix of one) as a storage.

    ``public=True``: ``url()`` joins ``public_base_url`` (a CDN or the bucket's own
    address) and the name. ``public=False``: ``url()`` raises; ``presigned_url()``
    gives a short-lived signed address, for a view that has checked permissions.
    ``public_endpoint_url`` is the endpoint as browsers reach it, when the processes
    reach it under another name (``http://seaweedfs:8333`` inside docker compose).
    """

    def get_default_settings(self) -> dict:
        return {
            **super().get_default_settings(),
            "public": False,
            "public_base_url": "",
            "public_endpoint_url": "",
            "connect_timeout": 5.0,
            # Seconds without a byte from a server that took the connection: a storage
            # stopping mid-request can hold one open; 10 s lets a retry find it gone well
            # within a thumbnail task's 20 s soft limit.
            "read_timeout": 10.0,
            "max_attempts": 3,
        }

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        if settings.get("client_config") is None:
            self.client_config = Config(
                s3={"addressing_style": self.addressing_style},
                signature_version=self.signature_version or "s3v4",
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                # Retries with backoff on throttling and 5xx; then the caller's retry.
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
            )

    @property
    def client(self) -> Any:
        """This thread's boto3 client (clients, unlike resources, may be shared by threads)."""
        return self.connection.meta.client

    def key(self, name: str) -> str:
        """Return the object key of a storage name (the storage's prefix included)."""
        return self._normalize_name(clean_name(name))

    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        if not self.public:
            raise ValueError(f"{name} is private: it has no URL (see presigned_url()).")
        return f"{self.public_base_url.rstrip('/')}/{filepath_to_uri(clean_name(name))}"

    @cached_property
    def _signer(self) -> Any:
        """A client for the browsers' endpoint; signing needs no connection to it."""
        return self._create_session().client(
            "s3",
            region_name=self.region_name,
            endpoint_url=self.public_endpoint_url or self.endpoint_url,
            config=self.client_config,
        )

    def presigned_url(
        self, name: str, *, expires: int, filename: str | None = None, as_attachment: bool = False
    ) -> str:
        """Return a URL that reads ``name`` for ``expires`` seconds, with no credentials."""
        params = {"Bucket": self.bucket_name, "Key": self.key(name)}
        disposition = content_disposition_header(
            as_attachment, filename or posixpath.basename(name)
        )
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return self._signer.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires, HttpMethod="GET"
        )

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            with translated_errors(name):
                return super()._open(name, mode)
        with translated_errors(name):
            found = self.client.get_object(Bucket=self.bucket_name, Key=self.key(name))
        file = File(ObjectReader(found["Body"], name), name=name)  # type: ignore[arg-type]  # bytes
        file.size = found["ContentLength"]
        return file

    def _save(self, name: str, content) -> str:
        # Through the writer rather than django-storages' upload_fileobj: one PUT up to
        # a part's size, where s3transfer's thread pool cost an upload twice the CPU.
        if hasattr(content, "seek"):
            content.seek(0)
        with self.atomic_writer(name) as out:
            for chunk in content.chunks(PART_SIZE):
                out.write(chunk)
        return clean_name(name)

    def delete(self, name: str) -> None:
        with translated_errors(name):
            super().delete(name)

    def exists(self, name: str) -> bool:
        with translated_errors(name):
            return super().exists(name)

    def size(self, name: str) -> int:
        with translated_errors(name):
            return self.client.head_object(Bucket=self.bucket_name, Key=self.key(name))[
                "ContentLength"
            ]

    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        with translated_errors(name):
            return super().listdir(name)

    def get_modified_time(self, name: str):
        with translated_errors(name):
            return super().get_modified_time(name)

    @contextmanager
    def atomic_writer(self, name: str, *, sha256: bool = False) -> Iterator[MultipartWriter]:
        """Write ``name`` chunk by chunk; it appears whole when the block ends, or not at all."""
        key = self.key(name)
        writer = MultipartWriter(
            self.client,
            bucket=self.bucket_name,
            key=key,
            params=self._get_write_parameters(key),
            sha256=sha256,
        )
        try:
            yield writer
            writer.publish()
        finally:
            writer.discard()

    def save_many(self, files: Mapping[str, bytes]) -> list[str]:
        """Save several small files with parallel PUTs; return their names."""
        client = self.client

        def put(item: tuple[str, bytes]) -> None:
            name, data = item
            key = self.key(name)
            with translated_errors(name):
                client.put_object(
                    Bucket=self.bucket_name, Key=key, Body=data, **self._get_write_parameters(key)
                )

        with ThreadPoolExecutor(min(SAVE_MANY_THREADS, len(files) or 1)) as pool:
            list(pool.map(put, files.items()))
        return list(files)

    def read_many(
        self, names: Iterable[str], *, missing_ok: bool = False
    ) -> Iterator[bytes | None]:
        """Yield the bytes of each named object, in order, fetching READ_AHEAD at once;
        None for a missing one if ``missing_ok``, else FileNotFoundError.

        For many small files read one after the other (a roll's PDFs into its zip): a
        request's latency is hidden behind the others', and memory holds READ_AHEAD
        files at most. ``names`` is consumed that far ahead of what has been yielded.
        """
        client = self.client

        def get(name: str) -> bytes | None:
            try:
                with translated_errors(name):
                    found = client.get_object(Bucket=self.bucket_name, Key=self.key(name))
                    return found["Body"].read()
            except FileNotFoundError:
                if missing_ok:
                    return None
                raise

        with ThreadPoolExecutor(READ_AHEAD) as pool:
            window: deque[Future[bytes | None]] = deque()
            for name in names:
                window.append(pool.submit(get, name))
                if len(window) >= READ_AHEAD:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()

    def delete_folder(self, name: str) -> None:
        """Delete every object under the folder ``name``: one listing, batched deletes."""
        prefix = self.key(name).rstrip("/") + "/"
        with translated_errors(name):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket_name, Prefix=prefix
            )
            keys = [entry["Key"] for page in pages for entry in page.get("Contents", ())]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                self.client.delete_objects(
                    Bucket=self.bucket_name,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )

    def prepare(self) -> str:
        """Create the bucket if it is missing; return what was done, for the operator."""
        with translated_errors(f"bucket {self.bucket_name}"):
            try:
                self.client.head_bucket(Bucket=self.bucket_name)
                return f"bucket {self.bucket_name} (exists)"
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                    raise
            options: dict = {}
            if self.region_name and self.region_name != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": self.region_name}
            self.client.create_bucket(Bucket=self.bucket_name, **options)
            return f"bucket {self.bucket_name} (created)"
