"""Turn an upload's bytes into thumbnail JPEGs: Pillow only, no storage, no database.

The upload is decoded once, in JPEG draft mode when that helps (the decoder scales by
1/2, 1/4 or 1/8 while decoding, which is most of the saving on a phone photo), turned
upright from its EXIF orientation, and each smaller size is resized from the previous
one. Output is re-encoded JPEG without any metadata.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# Pillow format names accepted, with the extension an upload is stored under.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Resize with a cheap integer reduce() first down to 3x the target, then Lanczos: Pillow
# documents 3.0 as indistinguishable from a full Lanczos resize.
REDUCING_GAP = 3.0
# 85: the usual web quality; visibly identical to 95 at a third of the bytes.
JPEG_QUALITY = 85
# EXIF orientations 5-8 store the picture on its side: width and height swap when upright.
SIDEWAYS_ORIENTATIONS = {5, 6, 7, 8}


class BadImage(Exception):
    """The upload cannot be turned into thumbnails; the message is for its author."""


@dataclass(frozen=True, order=True)
class Box:
    width: int
    height: int

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Rendered:
    box: Box
    width: int
    height: int
    data: bytes


def configured_boxes() -> list[Box]:
    """Return the boxes of ``THUMBNAIL_SIZES``, without duplicates."""
    return sorted({Box(width, height) for width, height in settings.THUMBNAIL_SIZES}, reverse=True)


def fit(size: tuple[int, int], box: Box) -> tuple[int, int]:
    """Return ``size`` scaled to fit inside ``box`` keeping its aspect ratio, never enlarged."""
    width, height = size
    scale = min(1.0, box.width / width, box.height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(image: Image.Image) -> Image.Image:
    """Return an RGB image; transparent areas become white (JPEG has no alpha)."""
    if image.mode == "RGB":
        return image
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def decode(data: bytes, largest: Box, *, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """Decode once, as small as the largest box allows; return it upright with its full size."""
    with Image.open(BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
        if image.width * image.height > max_pixels:
            raise BadImage(
                f"The image is {image.width} x {image.height} pixels, more than the "
                f"{max_pixels / 1e6:g} megapixels allowed."
            )
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        sideways = orientation in SIDEWAYS_ORIENTATIONS
        upright = (image.height, image.width) if sideways else image.size
        wanted = fit(upright, largest)
        # draft() picks the smallest 1/2, 1/4 or 1/8 scale still at least `wanted` (a no-op
        # for other formats). No margin above the target: libjpeg's scaled IDCT averages
        # rather than drops pixels, and a 2x margin measured 1.4x slower (bench/thumbnails.py).
        image.draft("RGB", (wanted[1], wanted[0]) if sideways else wanted)
        image.load()
        # In place: for an upright photo (most uploads) exif_transpose would return a
        # full copy of the decoded pixels only to throw the original away.
        ImageOps.exif_transpose(image, in_place=True)
        return _flatten(image), upright


def render(data: bytes, boxes: Sequence[Box], *, max_pixels: int) -> list[Rendered]:
    """Return one metadata-free JPEG per box, all from a single decode of ``data``."""
    if not boxes:
        return []
    try:
        base, upright = decode(
            data, max(boxes, key=lambda b: b.width * b.height), max_pixels=max_pixels
        )
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("The file is not a JPEG, PNG, WebP or GIF image.") from None
    except Image.DecompressionBombError:
        raise BadImage(f"The image has more than {max_pixels / 1e6:g} megapixels.") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        zlib.error,
    ) as exc:
        # Pillow's plugins report truncated and corrupt data with these; the bytes were
        # read in full, so the file itself is at fault and a retry would fail the same way.
        raise BadImage(f"The image data is damaged or incomplete ({exc}).") from None

    targets = {box: fit(upright, box) for box in boxes}
    rendered = []
    current = base
    # Largest first: each size is resized from the previous (already smaller) result.
    for box in sorted(boxes, key=lambda b: targets[b][0] * targets[b][1], reverse=True):
        size = targets[box]
        if current.size != size:
            current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        rendered.append(Rendered(box, *size, data=_encode(current)))
    return rendered


def _encode(image: Image.Image) -> bytes:
    """Return ``image`` as a JPEG carrying no EXIF, GPS, ICC, XMP or comment."""
    # The encoder may copy some of these from image.info; nothing of the upload survives.
    image.info = {}
    out = BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return out.getvalue()
