"""posts.generate_thumbnails on a real worker consuming RabbitMQ."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from celery.exceptions import TimeLimitExceeded, WorkerLostError
from celery.signals import task_postrun, task_retry
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from PIL import Image

from posts.models import Thumbnail, UserPost
from posts.tasks import generate_thumbnails
from tests.factories import (
    CLASSIC_FITS_4000x3000,
    corrupt_png,
    image_bytes,
    phone_jpeg,
    sideways_phone_jpeg,
    stripes,
)
from tests.processes import worker_process
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker", "media")


def upload(client, data: bytes, name: str = "photo.jpg") -> int:
    response = client.post(
        reverse("posts:create"), {"image": SimpleUploadedFile(name, data), "caption": "c"}
    )
    assert response.status_code == 302, response.context["form"].errors
    return UserPost.objects.latest("id").id


def opened(thumbnail: Thumbnail) -> Image.Image:
    return Image.open(thumbnail.file.path)


class Signals:
    """Count what the in-process worker did with the thumbnail task."""

    def __init__(self) -> None:
        self.runs = 0
        self.retries = 0
        self.retried = threading.Event()

    def on_postrun(self, sender=None, **kwargs) -> None:
        if sender is not None and sender.name == generate_thumbnails.name:
            self.runs += 1

    def on_retry(self, sender=None, **kwargs) -> None:
        if sender is not None and sender.name == generate_thumbnails.name:
            self.retries += 1
            self.retried.set()


@pytest.fixture
def signals():
    seen = Signals()
    task_postrun.connect(seen.on_postrun, weak=False)
    task_retry.connect(seen.on_retry, weak=False)
    yield seen
    task_postrun.disconnect(seen.on_postrun)
    task_retry.disconnect(seen.on_retry)


def test_upload_makes_every_size_and_the_post_becomes_ready(author_client, wait_for_post):
    post = wait_for_post(upload(author_client, phone_jpeg((4000, 3000))))

    assert (post.state, post.failure_reason) == ("ready", "")
    made = {t.box: (t.width, t.height) for t in post.thumbnails.all()}
    assert made == CLASSIC_FITS_4000x3000
    for thumbnail in post.thumbnails.all():
        with opened(thumbnail) as image:
            assert image.size == (thumbnail.width, thumbnail.height)
            assert image.format == "JPEG"


def test_sideways_phone_photo_gives_upright_thumbnails(author_client, wait_for_post):
    post = wait_for_post(upload(author_client, sideways_phone_jpeg()))

    large = post.thumbnails.get(box_width=600, box_height=400)
    assert (large.width, large.height) == (300, 400)
    with opened(large) as image:
        assert image.getpixel((150, 20))[0] > 200  # red on top
        assert image.getpixel((150, 380))[2] > 200  # blue at the bottom


def test_thumbnails_carry_no_exif(author_client, wait_for_post):
    post = wait_for_post(upload(author_client, phone_jpeg((1600, 1200))))

    assert post.thumbnails.count() == 6
    for thumbnail in post.thumbnails.all():
        data = Path(thumbnail.file.path).read_bytes()
        assert b"Exif" not in data and b"SecretPhone" not in data
        with opened(thumbnail) as image:
            assert not image.getexif()


def test_same_task_delivered_twice_leaves_one_thumbnail_and_one_file_per_size(
    author_client, wait_for_post, signals, media
):
    post_id = upload(author_client, phone_jpeg((2000, 1500)))
    wait_for_post(post_id)
    runs_before = signals.runs
    # A redelivery after a crash finds the post still processing; deliver it twice at once.
    UserPost.objects.filter(id=post_id).update(state="processing")

    generate_thumbnails.delay(post_id)
    generate_thumbnails.delay(post_id)
    wait_until(lambda: signals.runs >= runs_before + 2, interval=0.1, what="both deliveries to run")

    assert signals.runs == runs_before + 2
    assert UserPost.objects.get(id=post_id).state == "ready"
    assert Thumbnail.objects.filter(post_id=post_id).count() == 6
    folder = media / "media" / "posts" / "thumbnails" / str(post_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{box}.jpg" for box in CLASSIC_FITS_4000x3000
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (phone_jpeg((1600, 1200))[:5000], "The image data is damaged or incomplete"),
        (corrupt_png(), "The image data is damaged or incomplete"),
    ],
    ids=["truncated-jpeg", "corrupt-png"],
)
def test_file_that_fails_to_decode_marks_the_post_failed_once_and_the_worker_goes_on(
    author_client, wait_for_post, signals, data, reason
):
    bad = wait_for_post(upload(author_client, data, name="bad.png"))
    good = wait_for_post(upload(author_client, phone_jpeg((640, 480))))

    assert bad.state == "failed"
    assert reason in bad.failure_reason
    assert not bad.thumbnails.exists()
    assert signals.retries == 0
    assert good.state == "ready"  # the worker is still consuming


def test_html_appended_to_a_png_is_only_ever_served_re_encoded(
    author_client, wait_for_post, client
):
    png = image_bytes(stripes((400, 300)), "PNG") + b"<html><script>alert(1)</script></html>"

    post = wait_for_post(upload(author_client, png, name="innocent.png"))

    assert post.state == "ready"
    status = client.get(reverse("posts:status", args=[post.id])).json()
    for thumbnail in post.thumbnails.all():
        data = Path(thumbnail.file.path).read_bytes()
        assert data.startswith(b"\xff\xd8") and b"<script" not in data
    assert all(t["url"].endswith(".jpg") for t in status["thumbnails"])
    page = client.get(post.get_absolute_url()).content.decode()
    assert post.image.name not in page


def _post_whose_thumbnail_folder_is_blocked(author, media: Path) -> tuple[UserPost, Path]:
    """Save a post with a file where its thumbnail folder must go: every write fails."""
    with transaction.atomic():
        post = UserPost.objects.create(
            author=author, caption="c", image=ContentFile(phone_jpeg(), name="a.jpg")
        )
        blocker = media / "media" / "posts" / "thumbnails" / str(post.id)
        blocker.parent.mkdir(parents=True)
        blocker.write_bytes(b"")
    return post, blocker


def test_storage_error_is_retried_with_backoff_then_succeeds(
    author, wait_for_post, signals, media, django_capture_on_commit_callbacks
):
    post, blocker = _post_whose_thumbnail_folder_is_blocked(author, media)

    assert signals.retried.wait(20), "the task was not retried"
    assert UserPost.objects.get(id=post.id).state == "processing"
    blocker.unlink()

    post = wait_for_post(post.id)
    assert post.state == "ready"
    assert post.thumbnails.count() == 6


def test_storage_error_that_outlasts_every_retry_marks_the_post_failed(
    author, wait_for_post, signals, media, monkeypatch
):
    # Two retries with no backoff: the real six, up to 10 minutes apart, would take 20 min.
    monkeypatch.setattr(generate_thumbnails, "max_retries", 2)
    monkeypatch.setattr(generate_thumbnails, "retry_backoff", 0)
    post, _ = _post_whose_thumbnail_folder_is_blocked(author, media)

    post = wait_for_post(post.id)

    assert post.state == "failed"
    assert post.failure_reason == (
        "The thumbnails could not be stored. Staff can re-generate them."
    )
    assert signals.retries == 2
    assert not post.thumbnails.exists()


def stored_post(author, data: bytes, name: str) -> UserPost:
    """Save a waiting post without queueing its task, so a test can send it its own way."""
    # bulk_create sends no post_save, so the receiver queues nothing on the images queue.
    (post,) = UserPost.objects.bulk_create(
        [UserPost(author=author, caption="c", image=ContentFile(data, name=name))]
    )
    return post


def test_soft_time_limit_marks_the_post_failed_and_the_worker_goes_on(
    author, wait_for_post, media, subprocess_env
):
    # The thread pool of the in-process worker cannot interrupt a task: a prefork worker
    # (as in production) on a queue of this test's own, with a per-message soft limit.
    queue = f"images-{uuid.uuid4().hex[:8]}"
    env = {
        **subprocess_env,
        "WORKER_QUEUES": queue,
        "MEDIA_ROOT": str(media / "media"),
        "POST_UPLOADS_ROOT": str(media / "uploads"),
    }
    # 49 megapixels (just under POST_MAX_PIXELS): decoding alone takes a few tenths of a
    # second, far past the 0.1 s soft limit.
    large = stored_post(
        author, image_bytes(stripes((7000, 7000)), "PNG", compress_level=1), "big.png"
    )
    small = stored_post(author, phone_jpeg((640, 480)), "small.jpg")

    with worker_process(env, args=("--pool", "prefork", "--concurrency", "1")):
        generate_thumbnails.apply_async((large.id,), queue=queue, soft_time_limit=0.1)
        slow = wait_for_post(large.id, timeout=60)
        generate_thumbnails.apply_async((small.id,), queue=queue)
        after = wait_for_post(small.id, timeout=60)

    assert slow.state == "failed"
    assert slow.failure_reason == "Making the thumbnails took too long. Try a smaller image."
    assert not slow.thumbnails.exists()
    assert after.state == "ready"  # the same worker (one child) is still consuming
    assert after.thumbnails.count() == 6


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (TimeLimitExceeded(30), "Making the thumbnails took too long. Try a smaller image."),
        (
            WorkerLostError("Worker exited prematurely: signal 9 (SIGKILL)."),
            "This image stopped the thumbnail maker each time it was tried. Try another file.",
        ),
    ],
)
def test_a_killed_run_marks_the_post_failed(author, exc, reason):
    # What the worker's main process calls after the hard limit or the last lost child
    # (tests/faults/ runs that path on a real prefork worker).
    post = stored_post(author, phone_jpeg((640, 480)), "p.jpg")
    UserPost.objects.filter(id=post.id).update(state=UserPost.State.PROCESSING)

    generate_thumbnails.on_failure(exc, "task-id", (post.id,), {}, None)

    post.refresh_from_db()
    assert post.state == "failed"
    assert post.failure_reason == reason


def test_admin_regenerate_action_remakes_the_thumbnails(admin_client, author, wait_for_post):
    post_id = upload_as(author, phone_jpeg((800, 600)))
    post = wait_for_post(post_id)
    Thumbnail.objects.filter(post=post).delete()

    response = admin_client.post(
        reverse("admin:posts_userpost_changelist"),
        {"action": "regenerate_thumbnails", "_selected_action": [post_id]},
    )

    assert response.status_code == 302
    post = wait_for_post(post_id)
    assert post.state == "ready"
    assert post.thumbnails.count() == 6


def upload_as(user, data: bytes) -> int:
    client = Client()
    client.force_login(user)
    return upload(client, data)
