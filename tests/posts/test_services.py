"""posts.services: the named actions views, admin actions and receivers call."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from posts import services
from posts.models import UserPost
from tests.factories import phone_jpeg

pytestmark = pytest.mark.usefixtures("media")


def test_create_post_stores_the_upload_and_queues_its_thumbnails_once_after_commit(
    author, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post = services.create_post(
            author=author, caption="hi", image=SimpleUploadedFile("p.jpg", phone_jpeg())
        )

    assert UserPost.objects.get() == post
    assert (post.state, post.author) == ("waiting", author)
    assert post.image.storage.exists(post.image.name)
    assert len(callbacks) == 1


def test_regenerating_puts_every_post_back_to_waiting_and_queues_each(
    author, django_capture_on_commit_callbacks
):
    ready = UserPost.objects.create(author=author, caption="a", state="ready", image="a.jpg")
    failed = UserPost.objects.create(
        author=author, caption="b", state="failed", failure_reason="Too long.", image="b.jpg"
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        count = services.regenerate_thumbnails([ready.pk, failed.pk])

    assert count == 2
    assert set(UserPost.objects.values_list("state", "failure_reason")) == {("waiting", "")}
    assert len(callbacks) == 2


def test_retry_post_queues_a_failed_post_only(author, django_capture_on_commit_callbacks):
    failed = UserPost.objects.create(author=author, caption="a", state="failed", image="a.jpg")
    ready = UserPost.objects.create(author=author, caption="b", state="ready", image="b.jpg")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.retry_post(failed.pk) is True
        assert services.retry_post(ready.pk) is False

    assert len(callbacks) == 1
