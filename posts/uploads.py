"""Check an upload from its header alone, before anything decodes its pixels; stop reading
one that is too big as soon as it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from PIL import Image, UnidentifiedImageError

from posts.imaging import ALLOWED_FORMATS

ACCEPTED = "JPEG, PNG, WebP or GIF"


@dataclass(frozen=True)
class UploadInfo:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]


def describe_size(size: int) -> str:
    """Return a size in MB (of 1024 x 1024 bytes) and in bytes, e.g. "20 MB (20,971,520 bytes)".

    The bytes are always given: two sizes that round to the same MB still read apart.
    """
    megabytes = f"{size / (1024 * 1024):.2f}".rstrip("0").rstrip(".")
    return f"{megabytes} MB ({size:,} bytes)"


def too_big_message(limit: int, *, size: int | None = None) -> str:
    """Say that an upload is over ``limit``; ``size`` is None when it was cut off unread."""
    if size is None:
        return f"The file is larger than the limit, {describe_size(limit)}. Upload a smaller image."
    return (
        f"The file is {describe_size(size)}; the limit is {describe_size(limit)}. "
        "Upload a smaller image."
    )


# Set on a request whose upload was cut off, to the limit it passed.
_CUT_OFF = "posts_upload_cut_off_at"


class SizeLimitedUploadHandler(FileUploadHandler):
    """Stop reading a request's body once its files pass POST_MAX_UPLOAD_BYTES.

    First in FILE_UPLOAD_HANDLERS, so the handlers after it (the one writing the file to
    disk) never get a byte past the limit, and the rest of the body is left unread
    (gunicorn drains a little, then closes the connection): an upload over the limit
    never reaches the disk, however big it is.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.POST_MAX_UPLOAD_BYTES
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        # Counted across every file of the request, not per file.
        self.received += len(raw_data)
        if self.received > self.limit:
            if self.request is not None:
                setattr(self.request, _CUT_OFF, self.limit)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def cut_off_at(request: HttpRequest) -> int | None:
    """Return the limit a request's upload passed and was cut off at, or None."""
    return getattr(request, _CUT_OFF, None)


def inspect_upload(upload: UploadedFile, *, max_bytes: int, max_pixels: int) -> UploadInfo:
    """Return the format and size of an upload; raise ValidationError a user can act on."""
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(too_big_message(max_bytes, size=upload.size), code="too_big")
    upload.seek(0)
    try:
        # Image.open reads the header only; pixels are decoded later, in the worker.
        with Image.open(upload) as image:
            info = UploadInfo(image.format or "", image.width, image.height)
    except Image.DecompressionBombError:
        raise ValidationError(
            f"The image has more than {max_pixels / 1e6:g} megapixels. Upload a smaller image.",
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(
            f"This file is not an image. Upload a {ACCEPTED} image.", code="not_an_image"
        ) from None
    finally:
        upload.seek(0)
    if info.format not in ALLOWED_FORMATS:
        raise ValidationError(
            f"{info.format} images are not accepted. Upload a {ACCEPTED} image.",
            code="format",
        )
    if info.width * info.height > max_pixels:
        raise ValidationError(
            f"The image is {info.width} x {info.height} pixels "
            f"({info.width * info.height / 1e6:.0f} megapixels); the limit is "
            f"{max_pixels / 1e6:g} megapixels. Upload a smaller image.",
            code="too_many_pixels",
        )
    return info


def storage_name(info: UploadInfo) -> str:
    """Return a fresh name for an upload; the uploader's file name is never used."""
    return f"{uuid.uuid4().hex}.{info.extension}"
