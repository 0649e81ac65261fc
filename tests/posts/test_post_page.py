"""The post page in Chromium: thumbnails appear as the real worker makes them."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from posts.models import UserPost
from project.celery import app
from tests.factories import PASSWORD, make_user, phone_jpeg

pytestmark = pytest.mark.browser


@pytest.fixture
def uploads_folder(settings, tmp_path):
    # Only uploads move: the live server serves /media/ from the configured MEDIA_ROOT,
    # so thumbnails go there and are removed afterwards.
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    yield
    for post in UserPost.objects.all():
        shutil.rmtree(settings.MEDIA_ROOT / "posts" / "thumbnails" / str(post.id), True)


@pytest.fixture
def paused_images_queue(worker):
    """Stop the worker taking thumbnail tasks until the test calls the returned resume()."""
    destination = [worker.hostname]
    app.control.cancel_consumer("images", reply=True, destination=destination)

    def resume() -> None:
        app.control.add_consumer("images", reply=True, destination=destination)

    yield resume
    resume()


@pytest.fixture
def walker(transactional_db):
    return make_user("walker")


# Database fixtures come before browser_page: Playwright's event loop makes the ORM refuse.
def test_upload_then_thumbnails_appear_without_a_reload(
    paused_images_queue, uploads_folder, walker, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/posts/new/")
    page.fill("input[name=username]", "walker")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/posts/new/")

    page.set_input_files(
        "input[name=image]",
        {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg((2400, 1800))},
    )
    page.fill("textarea[name=caption]", "Sunset over the harbour")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/posts/*/")
    # Set on the page that the upload landed on: a reload would wipe it.
    page.evaluate("window.sameDocument = true")
    assert page.locator("#post-state").inner_text() == "Waiting"
    assert page.locator("#post-thumbnails figure").count() == 0

    paused_images_queue()

    page.locator("#post-state", has_text="Ready").wait_for(timeout=30_000)

    assert page.evaluate("window.sameDocument") is True
    figures = page.locator("#post-thumbnails figure")
    assert figures.count() == len(settings.THUMBNAIL_SIZES)
    large = page.locator("figure[data-box='600x400'] img")
    large.evaluate("img => img.decode()")
    assert large.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [533, 400]
    assert page.locator("h1").inner_text() == "Sunset over the harbour"
    assert page.console_errors == []
