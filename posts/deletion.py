"""Delete a post together with its files."""

from __future__ import annotations

from django.db import transaction

from posts import thumbnails
from posts.models import UserPost


def delete_post(*, post: UserPost) -> None:
    """Delete the post's rows now and its files once that is committed."""
    post_id, upload_name = post.id, post.image.name
    with transaction.atomic():
        post.delete()
        # After commit: a rolled-back delete must not have lost the files.
        transaction.on_commit(
            lambda: thumbnails.delete_files(post_id=post_id, upload_name=upload_name)
        )
