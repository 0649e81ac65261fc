"""Make every thumbnail size of a post from one decode of its upload.

The upload is decoded once, in JPEG draft mode when that helps (the decoder scales by
1/2, 1/4 or 1/8 while decoding, which is most of the saving on a phone photo), turned
upright from its EXIF orientation, and each smaller size is resized from the previous
one. Output is re-encoded JPEG without any metadata, saved through the media storage
under a deterministic name (each appears whole: filestore/), so running this twice
overwrites the same files and leaves one row per size.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from posts.models import Thumbnail, UserPost
from posts.storage import thumbnails_storage, uploads_storage

logger = logging.getLogger(__name__)

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


class StorageError(Exception):
    """Reading the upload or writing a thumbnail failed; worth retrying later.

    Every storage backend reports a failure as OSError (filestore/), so this is raised
    for local folders and object storage alike.
    """


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


def thumbnail_name(post_id: int, box: Box) -> str:
    """Return the deterministic storage name of one thumbnail of a post."""
    return f"{thumbnail_folder(post_id)}/{box.name}.jpg"


def thumbnail_folder(post_id: int) -> str:
    return f"posts/thumbnails/{post_id}"


def _read_upload(name: str) -> bytes:
    try:
        with uploads_storage().open(name, "rb") as upload:
            return upload.read()
    except OSError as exc:
        raise StorageError(f"cannot read the upload {name}: {exc}") from exc


def _store(post_id: int, rendered: Sequence[Rendered]) -> None:
    files = {thumbnail_name(post_id, item.box): item.data for item in rendered}
    try:
        thumbnails_storage().save_many(files)
    except OSError as exc:
        raise StorageError(f"cannot write the thumbnails of post {post_id}: {exc}") from exc


def _record(post_id: int, rendered: Sequence[Rendered], *, had_thumbnails: bool = True) -> bool:
    """Save one row per box and mark the post ready; False if the post went meanwhile.

    ``had_thumbnails=False`` (none existed when the run began) skips looking for rows
    of boxes no longer configured: a first run has none to forget. (Two runs of one
    post at once under different ``THUMBNAIL_SIZES``, mid-deploy, could leave an extra
    size; the next re-generation forgets it.)
    """
    with transaction.atomic():
        # Marking it ready first locks the post's row until commit, which orders this
        # against a concurrent delete; readers see the state and the rows together.
        marked = UserPost.objects.mark_ready(post_id)
        if not marked and not UserPost.objects.select_for_update().filter(id=post_id).exists():
            return False
        Thumbnail.objects.bulk_create(
            [
                Thumbnail(
                    post_id=post_id,
                    box_width=item.box.width,
                    box_height=item.box.height,
                    width=item.width,
                    height=item.height,
                    file=thumbnail_name(post_id, item.box),
                )
                for item in rendered
            ],
            update_conflicts=True,
            unique_fields=["post", "box_width", "box_height"],
            update_fields=["width", "height", "file"],
        )
        if had_thumbnails:
            _forget_other_boxes(post_id, [item.box for item in rendered])
    return True


def _forget_other_boxes(post_id: int, boxes: Sequence[Box]) -> None:
    """Delete rows and files of boxes no longer in ``THUMBNAIL_SIZES``."""
    current = Q()
    for box in boxes:
        current |= Q(box_width=box.width, box_height=box.height)
    stale = Thumbnail.objects.filter(post_id=post_id).exclude(current)
    names = list(stale.values_list("file", flat=True))
    if not names:
        return  # the usual case: skip a DELETE that would match nothing
    stale.delete()

    # robust: a storage error is logged, not raised into the task after its work is done.
    def delete_stale_files() -> None:
        for name in names:
            thumbnails_storage().delete(name)

    transaction.on_commit(delete_stale_files, robust=True)


def generate_for(*, post_id: int) -> UserPost.State | None:
    """Make every thumbnail of a post and record the outcome; return the post's new state.

    Returns None when there is nothing to do (post deleted, already ready or failed).
    Raises StorageError when a read or write failed and a later attempt may succeed.
    """
    if not UserPost.objects.claim(post_id):
        logger.info("post %s is not waiting for thumbnails; nothing to do", post_id)
        return None
    # One query for the upload and for whether an earlier run left rows to reconcile.
    found = (
        UserPost.objects.filter(id=post_id)
        .values_list("image", Exists(Thumbnail.objects.filter(post_id=OuterRef("id"))))
        .first()
    )
    if found is None:
        return None
    upload_name, had_thumbnails = found
    data = _read_upload(upload_name)
    try:
        rendered = render(data, configured_boxes(), max_pixels=settings.POST_MAX_PIXELS)
    except BadImage as exc:
        logger.info("post %s has a bad image: %s", post_id, exc)
        UserPost.objects.mark_failed(post_id, str(exc))
        return UserPost.State.FAILED
    _store(post_id, rendered)
    if not _record(post_id, rendered, had_thumbnails=had_thumbnails):
        logger.info("post %s was deleted while its thumbnails were made", post_id)
        try:
            delete_files(post_id=post_id, upload_name="")
        except OSError:
            # posts.delete_files, queued by the delete, retries until they are gone.
            logger.warning("post %s: its thumbnails could not be deleted yet", post_id)
        return None
    logger.info("made %d thumbnails of post %s", len(rendered), post_id)
    return UserPost.State.READY


def delete_files(*, post_id: int, upload_name: str) -> None:
    """Delete a post's upload and thumbnail folder (missing files are fine)."""
    if upload_name:
        uploads_storage().delete(upload_name)
    thumbnails_storage().delete_folder(thumbnail_folder(post_id))
