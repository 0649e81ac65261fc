"""Posts: an uploaded image with a caption, and one thumbnail row per configured size."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from posts.storage import uploads_storage

# 500: three tweets' worth; a caption, not an article, and short enough for a gallery card.
CAPTION_MAX_LENGTH = 500


class UserPostQuerySet(models.QuerySet):
    def ready(self) -> UserPostQuerySet:
        """Return the posts whose thumbnails are all made, newest first."""
        return self.filter(state=UserPost.State.READY).order_by("-created", "-id")

    def start_processing(self, post_id: int) -> bool:
        """Mark a waiting (or crashed mid-way) post as processing; False if it is done."""
        pending = (UserPost.State.WAITING, UserPost.State.PROCESSING)
        return bool(
            self.filter(id=post_id, state__in=pending).update(state=UserPost.State.PROCESSING)
        )

    def mark_ready(self, post_id: int) -> bool:
        """Mark a processing post as ready; False if it was re-queued or deleted meanwhile."""
        return bool(
            self.filter(id=post_id, state=UserPost.State.PROCESSING).update(
                state=UserPost.State.READY, failure_reason=""
            )
        )

    def mark_failed(self, post_id: int, reason: str) -> bool:
        """Record why a pending post's thumbnails cannot be made."""
        pending = (UserPost.State.WAITING, UserPost.State.PROCESSING)
        return bool(
            self.filter(id=post_id, state__in=pending).update(
                state=UserPost.State.FAILED, failure_reason=reason[:1000]
            )
        )

    def requeue_failed(self, post_id: int) -> bool:
        """Put a failed post back to waiting; False if it is not failed (e.g. retried already)."""
        return bool(
            self.filter(id=post_id, state=UserPost.State.FAILED).update(
                state=UserPost.State.WAITING, failure_reason=""
            )
        )

    def mark_waiting(self) -> int:
        """Put posts back in the queue's waiting state, e.g. before re-generating."""
        return self.update(state=UserPost.State.WAITING, failure_reason="")


class UserPost(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    # A plain FileField: posts.uploads checks the header itself (ImageField's verify()
    # would parse the whole file in the web process), and the file is never served.
    image = models.FileField(upload_to="originals/%Y/%m/", storage=uploads_storage)
    caption = models.CharField(max_length=CAPTION_MAX_LENGTH)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    failure_reason = models.TextField(blank=True)

    objects = UserPostQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["state", "-created"], name="posts_state_created")]

    def __str__(self) -> str:
        return f"{self.caption[:40]} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("posts:detail", args=[self.id])

    def is_visible_to(self, user) -> bool:
        """Ready posts are public; a post still in the works is its author's and staff's."""
        return self.state == self.State.READY or user.is_staff or user.id == self.author_id

    def gallery_thumbnail(self) -> Thumbnail | None:
        """Return the smallest thumbnail at least 200 px on its long side, else the largest."""
        thumbnails = sorted(self.thumbnails.all(), key=lambda t: t.width * t.height)
        # 200: a gallery card is about 240 px wide; smaller would look blurry.
        for thumbnail in thumbnails:
            if max(thumbnail.width, thumbnail.height) >= 200:
                return thumbnail
        return thumbnails[-1] if thumbnails else None

    def sized_thumbnails(self) -> list[Thumbnail]:
        """Return the thumbnails largest first: the first is the one to show the image with."""
        return sorted(self.thumbnails.all(), key=lambda t: t.width * t.height, reverse=True)


class Thumbnail(models.Model):
    post = models.ForeignKey(UserPost, on_delete=models.CASCADE, related_name="thumbnails")
    box_width = models.PositiveIntegerField()
    box_height = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file = models.FileField(max_length=200)

    class Meta:
        ordering = ["-box_width", "-box_height"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "box_width", "box_height"], name="posts_one_thumbnail_per_box"
            )
        ]

    def __str__(self) -> str:
        return f"{self.box} of post {self.post_id}"

    @property
    def box(self) -> str:
        return f"{self.box_width}x{self.box_height}"
