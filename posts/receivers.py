"""Signal receivers of the posts app, connected in ``PostsConfig.ready()``."""

from __future__ import annotations

from posts.models import UserPost
from posts.tasks import generate_thumbnails


def enqueue_thumbnails(sender, instance: UserPost, created: bool, raw: bool, **kwargs) -> None:
    """Queue the thumbnails of a new post once its row is committed."""
    if created and not raw:
        generate_thumbnails.delay_on_commit(instance.id)
