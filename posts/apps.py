from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PostsConfig(AppConfig):
    name = "posts"

    def ready(self) -> None:
        from posts import receivers
        from posts.models import UserPost

        post_save.connect(
            receivers.enqueue_thumbnails, sender=UserPost, dispatch_uid="posts.enqueue_thumbnails"
        )
        post_delete.connect(
            receivers.enqueue_file_deletion,
            sender=UserPost,
            dispatch_uid="posts.enqueue_file_deletion",
        )
