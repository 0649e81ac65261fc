"""The upload form in Chromium: checks before sending, the file kept after an error, progress."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from posts.uploads import describe_size
from tests.factories import image_bytes, phone_jpeg, stripes
from tests.screenshots import screenshot

pytestmark = pytest.mark.browser

# A post's own page, /posts/<id>/ (the upload page is /posts/new/).
POST_PAGE = re.compile(r"/posts/\d+/$")


def posted_uploads(page) -> list[str]:
    """Record every POST the page sends to the upload URL; return the live list."""
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and request.url.endswith("/posts/new/")
            else None
        ),
    )
    return sent


def pick(page, name: str, mime: str, data: bytes) -> None:
    page.set_input_files("input[name=image]", {"name": name, "mimeType": mime, "buffer": data})


def test_the_browser_refuses_a_file_the_server_would_refuse_before_sending_it(
    settings, uploads_folder, walker, live_server, browser_page, sign_in
):
    settings.POST_MAX_UPLOAD_BYTES = 200_000
    settings.POST_MAX_PIXELS = 1_000_000
    page = browser_page
    sign_in(page, live_server, "walker", "/posts/new/")
    sent = posted_uploads(page)
    check = page.locator("#image-check")
    page.fill("textarea[name=caption]", "Too much")

    noise = image_bytes(Image.effect_noise((400, 300), 64).convert("RGB"), "PNG")
    pick(page, "noise.png", "image/png", noise)
    # Worded as the server words it (posts.uploads.describe_size).
    expected = (
        f"The file is {describe_size(len(noise))}; "
        "the limit is 0.19 MB (200,000 bytes). Upload a smaller image."
    )
    page.wait_for_function("document.getElementById('image-check').textContent !== ''")
    assert check.inner_text() == expected
    screenshot(page, "upload-too-big")
    page.get_by_role("button", name="Upload").click()

    pick(page, "old.bmp", "image/bmp", image_bytes(stripes((32, 32)), "BMP"))
    page.wait_for_function("document.getElementById('image-check').textContent.includes('BMP')")
    assert check.inner_text() == (
        "BMP images are not accepted. Upload a JPEG, PNG, WebP or GIF image."
    )
    page.get_by_role("button", name="Upload").click()

    pick(page, "wide.jpg", "image/jpeg", phone_jpeg((1500, 800)))
    page.wait_for_function("document.getElementById('image-check').textContent.includes('1500')")
    assert check.inner_text() == (
        "The image is 1500 x 800 pixels (1 megapixels); the limit is 1 megapixels. "
        "Upload a smaller image."
    )
    page.get_by_role("button", name="Upload").click()

    pick(page, "notes.png", "image/png", b"just some text, not an image")
    page.wait_for_function("document.getElementById('image-check').textContent.includes('not an')")
    page.get_by_role("button", name="Upload").click()

    # The browser's validity check kept every one of them from being sent.
    assert sent == []
    assert page.console_errors == []


def test_after_a_server_side_error_the_chosen_file_is_still_there(
    uploads_folder, walker, live_server, browser_page, sign_in
):
    page = browser_page
    sign_in(page, live_server, "walker", "/posts/new/")
    sent = posted_uploads(page)

    pick(page, "harbour.jpg", "image/jpeg", phone_jpeg((800, 600)))
    # Blank but present: the browser's required check passes; the server's caption check not.
    page.fill("textarea[name=caption]", "   ")
    page.get_by_role("button", name="Upload").click()
    page.locator(".errorlist", has_text="Write a caption for your image.").wait_for()

    assert len(sent) == 1
    assert page.eval_on_selector("input[name=image]", "input => input.files[0].name") == (
        "harbour.jpg"
    )
    screenshot(page, "upload-kept-file-after-error")
    page.fill("textarea[name=caption]", "The harbour at noon")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(POST_PAGE)

    assert page.locator("h1").inner_text() == "The harbour at noon"
    assert len(sent) == 2
    assert page.console_errors == []


def test_a_big_upload_shows_its_progress(
    uploads_folder, walker, live_server, browser_page, sign_in
):
    page = browser_page
    sign_in(page, live_server, "walker", "/posts/new/")
    # 2 MB at 1 MB/s: the browser's own network throttling makes the upload take a while.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1 << 20},
    )
    big = image_bytes(Image.effect_noise((1200, 800), 64).convert("RGB"), "PNG")
    assert len(big) > 2_000_000
    pick(page, "big.png", "image/png", big)
    page.fill("textarea[name=caption]", "A big one")
    page.wait_for_function("document.querySelector('input[name=image]').validity.valid")

    page.get_by_role("button", name="Upload").click()
    page.wait_for_function(
        "(() => { const p = document.querySelector('#upload-progress progress');"
        " return p.value >= 20 && p.value < 90; })()"
    )
    assert page.locator("#upload-progress").is_visible()
    assert "MB)" in page.locator(".upload-progress-text").inner_text()
    assert page.get_by_role("button", name="Upload").is_disabled()
    screenshot(page, "upload-progress")

    page.wait_for_url(POST_PAGE, timeout=30_000)
    assert page.locator("h1").inner_text() == "A big one"
    assert page.console_errors == []
