"""Dispatch: a new post is queued exactly once, only after commit, on the images queue."""

from __future__ import annotations

import pytest
from celery.signals import before_task_publish
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from posts.models import UserPost
from tests.factories import phone_jpeg

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def published():
    """Collect (task name, args, routing key) of every message published meanwhile."""
    seen: list[tuple[str, list, str]] = []

    def record(sender, body, routing_key, **kwargs):
        seen.append((sender, list(body[0]), routing_key))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


def test_upload_through_the_view_enqueues_once_and_only_on_commit(
    author_client, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        author_client.post(
            reverse("posts:create"),
            {"image": SimpleUploadedFile("p.jpg", phone_jpeg()), "caption": "hi"},
        )
    assert published == []  # nothing before commit
    assert len(callbacks) == 1

    callbacks[0]()

    post = UserPost.objects.get()
    assert published == [("posts.generate_thumbnails", [post.id], "images")]


def test_rolled_back_creation_enqueues_nothing(
    author, published, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        UserPost.objects.create(
            author=author, caption="gone", image=ContentFile(phone_jpeg(), name="a.jpg")
        )
        raise RuntimeError("roll back")

    assert callbacks == []
    assert published == []
    assert not UserPost.objects.exists()


def test_saving_an_existing_post_or_loading_a_fixture_enqueues_nothing(
    author, published, django_capture_on_commit_callbacks, tmp_path
):
    post = UserPost.objects.create(author=author, caption="one", image="a.jpg")
    fixture = tmp_path / "posts.json"
    call_command("dumpdata", "posts.userpost", output=str(fixture))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post.caption = "edited"
        post.save()
    # (Deleting queues the files' deletion: tested below; never committed here.)
    UserPost.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True) as loaded:
        call_command("loaddata", str(fixture), verbosity=0)

    assert UserPost.objects.get().caption == "one"
    assert callbacks == loaded == []
    assert published == []


def test_deleting_a_post_queues_its_files_deletion_once_and_only_on_commit(
    author, published, django_capture_on_commit_callbacks
):
    kept = UserPost.objects.create(author=author, caption="kept", image="originals/k.jpg")
    gone = UserPost.objects.create(author=author, caption="gone", image="originals/g.jpg")

    with (
        django_capture_on_commit_callbacks(execute=True) as rolled_back,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        kept.delete()
        raise RuntimeError("roll back")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        UserPost.objects.filter(id=gone.id).delete()  # a queryset delete too
    assert rolled_back == []
    assert published == []  # nothing before commit
    assert len(callbacks) == 1

    callbacks[0]()

    assert published == [("posts.delete_files", [gone.id, "originals/g.jpg"], "images")]
