"""Email all users in Chromium: the form's layout, the confirmation, the job page to the end."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_staff
from tests.screenshots import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def communications(transactional_db):
    User.objects.bulk_create(User(username=f"u{i}", email=f"u{i}@example.com") for i in range(4))
    return make_staff("comms", "Communications", email="comms@example.com")


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def test_email_all_form_then_the_job_page_says_what_was_sent(
    communications, smtp_inbox, worker, live_server, browser_page
):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/accounts/email-all/")
    page.fill("input[name=username]", "comms")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/email-all/")

    # The message's label sits above its box, left-aligned with it, not at its bottom-left.
    label = box(page.locator("label[for=id_body]"))
    body = box(page.locator("textarea[name=body]"))
    assert label["y"] + label["height"] <= body["y"] + 1
    assert abs(label["x"] - body["x"]) <= 1
    assert body["height"] >= 150
    page.fill("input[name=subject]", "Office closed on Friday")
    page.fill("textarea[name=body]", "The office is closed on Friday.\nBack on Monday.")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Send this to 5 users?")
    send = box(page.locator("#confirm"))
    cancel = box(page.get_by_role("link", name="Cancel"))
    assert cancel["x"] - (send["x"] + send["width"]) >= 12
    screenshot(page, "email-confirm")
    page.locator("#confirm").click()

    page.wait_for_url("**/accounts/email-all/*/")
    # The page refreshes itself until every send has ended.
    expect(page.locator("#state")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#sent")).to_have_text("5")
    expect(page.locator("#failed")).to_have_text("0")
    expect(page.locator("#progress")).to_have_text("5 of 5 users (100%)")
    expect(page.locator("#subject")).to_have_text("Office closed on Friday")
    expect(page.locator("#body")).to_have_text("The office is closed on Friday.Back on Monday.")
    expect(page.locator("#started")).to_contain_text("UTC")
    screenshot(page, "email-job")

    page.get_by_role("link", name="Back to Email all users").click()
    row = page.locator("table.email-jobs tbody tr").first
    expect(row).to_contain_text("Office closed on Friday")
    expect(row).to_contain_text("Done")
    screenshot(page, "email-all")
    assert page.console_errors == []
    assert len(smtp_inbox.messages) == 5
