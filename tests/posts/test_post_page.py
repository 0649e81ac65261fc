"""The post page in Chromium: thumbnails appear as the real worker makes them."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from project.celery import app
from tests.factories import phone_jpeg
from tests.screenshots import screenshot

pytestmark = pytest.mark.browser

# A post's own page, /posts/<id>/ (the upload page is /posts/new/).
POST_PAGE = re.compile(r"/posts/\d+/$")

TIMES = "\N{MULTIPLICATION SIGN}"


@pytest.fixture
def paused_images_queue(worker):
    """Stop the worker taking thumbnail tasks until the test calls the returned resume()."""
    destination = [worker.hostname]
    app.control.cancel_consumer("images", reply=True, destination=destination)

    def resume() -> None:
        app.control.add_consumer("images", reply=True, destination=destination)

    yield resume
    resume()


# Database fixtures come before browser_page: Playwright's event loop makes the ORM refuse.
def test_upload_then_thumbnails_appear_without_a_reload(
    paused_images_queue, uploads_folder, walker, live_server, browser_page, sign_in
):
    page = browser_page
    sign_in(page, live_server, "walker", "/posts/new/")

    page.set_input_files(
        "input[name=image]",
        {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg((2400, 1800))},
    )
    page.fill("textarea[name=caption]", "Sunset over the harbour")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(POST_PAGE)
    # Set on the page that the upload landed on: a reload would wipe it.
    page.evaluate("window.sameDocument = true")
    assert page.locator("#post-state").inner_text() == "Waiting"
    assert page.locator("#post-thumbnails figure").count() == 0

    paused_images_queue()

    page.locator("#post-state", has_text="Ready").wait_for(timeout=30_000)

    assert page.evaluate("window.sameDocument") is True
    # The image itself, large: the biggest thumbnail, the only picture on the page.
    large = page.locator("#post-image img")
    large.evaluate("img => img.decode()")
    assert large.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [533, 400]
    assert page.locator("article img").count() == 1
    # Every size is listed as text, largest first, saying what it is and what box it fits.
    sizes = page.locator("#post-sizes li")
    assert sizes.count() == len(settings.THUMBNAIL_SIZES)
    labels = [label.replace(TIMES, "x") for label in sizes.all_inner_texts()]
    assert labels[0] == "533 x 400 px (made to fit 600 x 400)"
    assert labels[-1] == "5 x 4 px (made to fit 5 x 5)"
    assert page.locator("h1").inner_text() == "Sunset over the harbour"
    assert page.console_errors == []
    screenshot(page, "post-page")
