"""What a post can go through, as named actions for views, admin actions and receivers."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from posts.models import UserPost
from posts.tasks import delete_files, generate_thumbnails
from tasking import enqueue


def create_post(*, author: User, caption: str, image: UploadedFile) -> UserPost:
    """Store the upload, then write the post; its thumbnails are queued after commit.

    The queueing is ``posts.receivers.enqueue_thumbnails`` (every new post, the admin's
    and fixtures' included), which calls ``queue_thumbnails``. Raises ``OSError`` when
    the file storage fails; the post is not written then.
    """
    post = UserPost(author=author, caption=caption, image=image)
    # A savepoint of its own, so a failure leaves any caller's transaction usable.
    with transaction.atomic():
        post.save()
    return post


def queue_thumbnails(post_id: int) -> None:
    """Queue the making of a post's thumbnails once the post's row is committed."""
    enqueue.after_commit(generate_thumbnails, post_id)


def retry_post(post_id: int) -> bool:
    """Queue a failed post's thumbnails again; False if the post is not failed."""
    with transaction.atomic():
        requeued = UserPost.objects.requeue_failed(post_id)
        if requeued:
            queue_thumbnails(post_id)
    return requeued


def regenerate_thumbnails(post_ids: Iterable[int]) -> int:
    """Make the thumbnails of these posts again, whatever their state; return how many."""
    with transaction.atomic():
        ids = list(post_ids)
        UserPost.objects.filter(id__in=ids).mark_waiting()
        for post_id in ids:
            queue_thumbnails(post_id)
    return len(ids)


def queue_file_deletion(post_id: int, upload_name: str | None) -> None:
    """Queue the deletion of a deleted post's files once the delete is committed."""
    enqueue.after_commit(delete_files, post_id, upload_name)
