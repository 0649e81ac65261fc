"""Background work of the posts app (the ``images`` queue, routed by ``posts.*``)."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from posts import thumbnails
from posts.models import UserPost
from tasking import backoff
from tasking.base import task

logger = logging.getLogger(__name__)

# 6 retries 2 s apart, doubling (2, 4 ... 64 s, at least half of each waited): one to two
# minutes in all, enough to ride out a remounted volume or a restarted object storage,
# short enough that an author soon sees the failure.
STORAGE_RETRIES = 6
RETRY_BACKOFF_FACTOR = 2
RETRY_BACKOFF_MAX = 600

TOO_LONG = "Making the thumbnails took too long. Try a smaller image."


def _backoff(task) -> float:
    """Seconds before the task's next try, on its retry_backoff curve."""
    return backoff.countdown(
        task.request.retries, base=task.retry_backoff, cap=task.retry_backoff_max
    )


def record_killed(exc: BaseException, post_id: int, *args, **kwargs) -> None:
    """Mark the post failed when its run was killed rather than ending by itself."""
    if isinstance(exc, TimeLimitExceeded):
        reason = TOO_LONG
    else:
        reason = "This image stopped the thumbnail maker each time it was tried. Try another file."
    UserPost.objects.mark_failed(post_id, reason)


@task(
    name="posts.generate_thumbnails",
    bind=True,
    ignore_result=True,
    acks_late=True,
    # 20 s soft, 30 s hard: a 12 MP JPEG takes about 0.1 s and a 50 MP PNG about 3 s here.
    soft_time_limit=20,
    time_limit=30,
    max_retries=STORAGE_RETRIES,
    # Read by the retry below (no autoretry_for: a bad image must never be retried).
    retry_backoff=RETRY_BACKOFF_FACTOR,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    # The hard limit or a crashing decoder: the task's own except clauses never run.
    on_killed=record_killed,
)
def generate_thumbnails(self, post_id: int, **kwargs) -> None:
    """Make every thumbnail size of one post from a single decode."""
    try:
        thumbnails.generate_for(post_id=post_id)
    except SoftTimeLimitExceeded:
        logger.warning("post %s: thumbnails took longer than the soft limit", post_id)
        UserPost.objects.mark_failed(post_id, TOO_LONG)
    except thumbnails.StorageError as exc:
        if self.request.retries >= self.max_retries:
            UserPost.objects.mark_failed(
                post_id, "The thumbnails could not be stored. Staff can re-generate them."
            )
            raise
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc


@task(
    name="posts.delete_files",
    bind=True,
    ignore_result=True,
    max_retries=STORAGE_RETRIES,
    retry_backoff=RETRY_BACKOFF_FACTOR,
    retry_backoff_max=RETRY_BACKOFF_MAX,
)
def delete_files(self, post_id: int, upload_name: str = "", **kwargs) -> None:
    """Delete a deleted post's upload and thumbnails (missing ones are fine)."""
    try:
        thumbnails.delete_files(post_id=post_id, upload_name=upload_name)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=_backoff(self)) from exc
