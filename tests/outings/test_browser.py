"""Create an outing, join it, and watch its announcement reach the Timeline, in Chromium."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def ada(transactional_db, django_user_model):
    # Made before the browser starts: Playwright's event loop forbids the ORM afterwards.
    return django_user_model.objects.create_user("ada", password="a-long-test-password")


def test_create_join_and_see_the_announcement_in_the_timeline(
    ada, live_server, worker, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/outings/new/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("button[type=submit]")

    starts = timezone.localtime() + timedelta(days=2)
    page.fill("input[name=title]", "Sunset walk")
    page.fill("input[name=place]", "Pont des Arts")
    page.fill("input[name=starts_at]", starts.strftime("%Y-%m-%dT%H:%M"))
    page.click("button:has-text('Create outing')")
    expect(page.locator("h1")).to_have_text("Sunset walk")

    page.fill("input[name=name]", "Grace")
    page.fill("input[name=handle]", "@grace_h")
    page.check("input[name=wants_reminder]")
    page.click("button:has-text('Join')")
    expect(page.locator(".participants")).to_contain_text("Grace (@grace_h)")

    page.click("a:has-text('Timeline')")
    sent = page.locator("tr.tweet.sent .text", has_text="Sunset walk")
    deadline = time.monotonic() + 20
    while sent.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    expect(sent).to_contain_text("New outing")
    expect(page.locator("tr.tweet.sent .kind")).to_contain_text("announcement")
    assert page.console_errors == []
