"""Make and store every thumbnail size of a post, and record them.

The pixels are posts/imaging.py's; this module reads the upload, saves the JPEGs
through the media storage under deterministic names (each appears whole: filestore/),
and records one row per size, so running it twice overwrites the same files and
leaves one row per size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from posts import imaging
from posts.models import Thumbnail, UserPost
from posts.storage import thumbnails_storage, uploads_storage

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """Reading the upload or writing a thumbnail failed; worth retrying later.

    Every storage backend reports a failure as OSError (filestore/), so this is raised
    for local folders and object storage alike.
    """


def thumbnail_name(post_id: int, box: imaging.Box) -> str:
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


def _store(post_id: int, rendered: Sequence[imaging.Rendered]) -> None:
    files = {thumbnail_name(post_id, item.box): item.data for item in rendered}
    try:
        thumbnails_storage().save_many(files)
    except OSError as exc:
        raise StorageError(f"cannot write the thumbnails of post {post_id}: {exc}") from exc


def _record(
    post_id: int, rendered: Sequence[imaging.Rendered], *, had_thumbnails: bool = True
) -> bool:
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


def _forget_other_boxes(post_id: int, boxes: Sequence[imaging.Box]) -> None:
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
    if not UserPost.objects.start_processing(post_id):
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
        rendered = imaging.render(
            data, imaging.configured_boxes(), max_pixels=settings.POST_MAX_PIXELS
        )
    except imaging.BadImage as exc:
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
