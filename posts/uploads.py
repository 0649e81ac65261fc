"""Check an upload from its header alone, before anything decodes its pixels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from posts.thumbnails import ALLOWED_FORMATS

ACCEPTED = "JPEG, PNG, WebP or GIF"


@dataclass(frozen=True)
class UploadInfo:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def inspect_upload(upload: UploadedFile, *, max_bytes: int, max_pixels: int) -> UploadInfo:
    """Return the format and size of an upload; raise ValidationError a user can act on."""
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            f"The file is {_megabytes(upload.size)}; the limit is {_megabytes(max_bytes)}. "
            "Upload a smaller image.",
            code="too_big",
        )
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
