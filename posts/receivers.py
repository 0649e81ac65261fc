"""Signal receivers of the posts app, connected in ``PostsConfig.ready()``."""

from __future__ import annotations

from posts import services
from posts.models import UserPost


def enqueue_thumbnails(sender, instance: UserPost, created: bool, raw: bool, **kwargs) -> None:
    """Queue the thumbnails of a new post once its row is committed."""
    if created and not raw:
        services.queue_thumbnails(instance.id)


def enqueue_file_deletion(sender, instance: UserPost, **kwargs) -> None:
    """Queue the deletion of a deleted post's files once the delete is committed.

    However the post goes (its page, the admin, its author's account), its upload and
    thumbnails go too; a rolled-back delete keeps them.
    """
    services.queue_file_deletion(instance.id, instance.image.name)
