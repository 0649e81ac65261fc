"""Fixtures of the posts tests: private media folders, a signed-in author, waiting."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from posts.models import UserPost
from tests.factories import PASSWORD, make_user
from tests.support.waiting import wait_until


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
        return wait_until(
            lambda: UserPost.objects.filter(
                id=post_id, state__in=[UserPost.State.READY, UserPost.State.FAILED]
            ).first(),
            timeout=timeout,
            what=f"post {post_id} to be ready or failed",
        )

    return wait


@pytest.fixture
def uploads_folder(settings, tmp_path):
    # Only uploads move: the live server serves /media/ from the configured MEDIA_ROOT,
    # so thumbnails go there and are removed afterwards.
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    yield
    for post in UserPost.objects.all():
        shutil.rmtree(settings.MEDIA_ROOT / "posts" / "thumbnails" / str(post.id), True)


@pytest.fixture
def walker(transactional_db):
    return make_user("walker")


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """Return a function that signs a user in through the login page, landing on ``next``."""

    def sign(page, live_server, username: str, next_path: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**{next_path}")

    return sign
