"""Fixtures of the posts tests: private media folders, a signed-in author, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from posts.models import UserPost
from tests.factories import make_user


@pytest.fixture
def media(settings, tmp_path):
    """Point thumbnails (MEDIA_ROOT) and uploads at this test's own folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    return tmp_path


@pytest.fixture
def author(db):
    return make_user("author")


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def wait_for_post() -> Callable[..., UserPost]:
    """Return a function that waits until a post is ready or failed, and returns it."""

    def wait(post_id: int, timeout: float = 30) -> UserPost:
        deadline = time.monotonic() + timeout
        while True:
            post = UserPost.objects.get(id=post_id)
            if post.state in {UserPost.State.READY, UserPost.State.FAILED}:
                return post
            if time.monotonic() > deadline:
                raise AssertionError(f"post {post_id} still {post.state} after {timeout} s")
            time.sleep(0.1)

    return wait
