"""My posts and deleting in Chromium: every state, a retry a real worker completes, asking first."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from posts.models import UserPost
from tests.factories import corrupt_png, phone_jpeg
from tests.screenshots import screenshot
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def walkers_posts(walker, uploads_folder, worker):
    """One post the worker makes ready, one failed for a passing reason, one for good."""
    ready = UserPost.objects.create(
        author=walker, caption="Harbour at noon", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    stalled = UserPost.objects.create(
        author=walker,
        caption="Harbour at dusk",
        image=ContentFile(phone_jpeg((900, 1200)), name="b.jpg"),
        state=UserPost.State.FAILED,
        failure_reason="The thumbnails could not be stored. Staff can re-generate them.",
    )
    broken = UserPost.objects.create(
        author=walker,
        caption="Scanned postcard",
        image=ContentFile(corrupt_png(), name="c.png"),
        state=UserPost.State.FAILED,
        failure_reason="The image data is damaged or incomplete.",
    )
    return ready.id, stalled.id, broken.id


def reload_until(page, selector: str, text: str, timeout: float = 30) -> None:
    def shown() -> bool:
        if text in page.locator(selector).inner_text():
            return True
        page.reload()
        return False

    wait_until(shown, timeout=timeout, interval=0.3, what=f"{selector} to say {text!r}")


def test_my_posts_shows_every_state_and_a_retry_the_worker_completes(
    walkers_posts, live_server, browser_page, sign_in
):
    ready, stalled, broken = walkers_posts
    page = browser_page
    sign_in(page, live_server, "walker", "/posts/mine/")
    reload_until(page, f"#post-{ready} .state", "Ready")

    assert page.locator("tr.post-row").count() == 3
    assert page.locator(f"#post-{ready} img").count() == 1
    assert page.locator(f"#post-{stalled} .failure").inner_text() == (
        "The thumbnails could not be stored. Staff can re-generate them."
    )
    assert page.locator(f"#post-{ready} button", has_text="Retry").count() == 0
    assert page.locator(f"#post-{broken} button", has_text="Retry").count() == 1
    screenshot(page, "my-posts")

    page.locator(f"#post-{stalled} button", has_text="Retry").click()
    assert "being made again" in page.locator(".messages").inner_text()
    reload_until(page, f"#post-{stalled} .state", "Ready")
    assert page.locator(f"#post-{stalled} .failure").count() == 0
    assert page.locator(f"#post-{stalled} img").count() == 1
    assert page.console_errors == []


def test_delete_asks_first_and_cancel_keeps_the_post(
    walkers_posts, live_server, browser_page, sign_in
):
    ready, _, _ = walkers_posts
    page = browser_page
    sign_in(page, live_server, "walker", f"/posts/{ready}/")
    reload_until(page, "#post-state", "Ready")

    page.get_by_role("link", name="Delete this post…").click()
    assert page.locator("h1").inner_text() == "Delete this post?"
    assert page.locator(".confirm-delete .caption").inner_text() == "Harbour at noon"
    screenshot(page, "delete-confirm")
    page.get_by_role("link", name="Cancel, keep it").click()
    assert page.locator("h1").inner_text() == "Harbour at noon"

    page.get_by_role("link", name="Delete this post…").click()
    page.get_by_role("button", name="Delete the post").click()
    page.wait_for_url("**/posts/mine/")
    assert page.locator(".messages").inner_text() == "Your post was deleted."
    assert page.locator(f"#post-{ready}").count() == 0
    assert page.locator("tr.post-row").count() == 2
    assert page.console_errors == []
