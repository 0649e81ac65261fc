"""Create an outing, join it, and watch its announcement reach the Timeline, in Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from outings.models import Outing, Participant, Tweet
from tests.screenshots import screenshot
from tests.support.waiting import wait_until

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

    def shown_sent() -> bool:
        if sent.count():
            return True
        page.reload()
        return False

    wait_until(shown_sent, timeout=20, interval=0.3, what="the announcement shown as sent")
    expect(sent).to_contain_text("New outing")
    expect(page.locator("tr.tweet.sent .kind")).to_contain_text("announcement")
    assert page.console_errors == []


@pytest.fixture
def sunset_walk(transactional_db, ada):
    """An outing at 23:30 UTC, with one participant and two tweets about it."""
    # bulk_create sends no post_save: no announcement is queued for a worker to write.
    [outing] = Outing.objects.bulk_create(
        [
            Outing(
                title="Sunset walk",
                place="Pont des Arts",
                starts_at=datetime(2099, 1, 5, 23, 30, tzinfo=UTC),
                created_by=ada,
            )
        ]
    )
    grace = Participant.objects.create(outing=outing, name="Grace", handle="grace_h")
    Tweet.objects.create(
        idempotency_key=f"announce:{outing.pk}",
        kind="announcement",
        text="New outing: Sunset walk",
        outing=outing,
        state="sent",
        attempts=1,
        sent_at=datetime(2098, 12, 30, 14, 5, tzinfo=UTC),
    )
    Tweet.objects.create(
        idempotency_key=f"reminder:{grace.pk}",
        kind="reminder",
        text="@grace_h reminder: Sunset walk starts soon",
        outing=outing,
        participant=grace,
    )
    return outing


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def test_outings_show_times_in_the_browsers_zone_and_forms_line_up(
    sunset_walk, live_server, browser_page
):
    # A browser in New York: the site learns its zone from the first page and reloads it.
    page = browser_page.context.browser.new_page(timezone_id="America/New_York")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/outings/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/outings/")

    # 23:30 UTC is 18:30 in New York in January, and the page says which zone it is.
    expect(page.locator("td.when")).to_have_text("Mon 5 Jan, 18:30 EST")
    expect(page.locator(".time-zone-note")).to_contain_text("Times are in America/New_York")
    new_outing = box(page.get_by_role("link", name="New outing"))
    timeline = box(page.locator(".actions").get_by_role("link", name="Timeline"))
    assert timeline["x"] - (new_outing["x"] + new_outing["width"]) >= 12
    screenshot(page, "outings-index")

    page.get_by_role("link", name="Sunset walk").click()
    expect(page.locator(".lead")).to_contain_text("Monday 5 January 2099, 18:30 EST")
    checkbox = box(page.locator("input[name=wants_reminder]"))
    label = box(page.locator("label[for=id_wants_reminder]"))
    # On the label's line, just before it: not floating mid-row.
    assert label["y"] <= checkbox["y"] + checkbox["height"] / 2 <= label["y"] + label["height"]
    assert 0 < label["x"] - (checkbox["x"] + checkbox["width"]) <= 16
    expect(page.locator("#id_wants_reminder_helptext")).to_have_text(
        "A reminder is tweeted 24 hours before the outing starts."
    )
    screenshot(page, "outing-join")

    page.goto(f"{live_server.url}/outings/timeline/")
    expect(page.locator("table.timeline th").first).to_have_text("Time")
    expect(page.locator("td.time").last).to_have_text("30 Dec, 09:05 EST")
    screenshot(page, "timeline")

    page.goto(f"{live_server.url}/outings/new/")
    expect(page.locator("#id_starts_at_helptext")).to_have_text(
        "Date and time in America/New_York."
    )
    screenshot(page, "outing-create")

    # A zone picked on the time zone page wins over the browser's.
    page.goto(f"{live_server.url}/outings/")
    page.locator(".time-zone-note").get_by_role("link", name="Change").click()
    expect(page.locator("#current-zone")).to_have_text("America/New_York")
    page.select_option("select[name=zone]", "Asia/Tokyo")
    screenshot(page, "time-zone")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/outings/")
    expect(page.locator("td.when")).to_have_text("Tue 6 Jan, 08:30 JST")
    page.close()

    # A first visit, signed out: shown in the site's zone, then reloaded in the browser's.
    fresh = browser_page.context.browser.new_page(timezone_id="Asia/Kolkata")
    fresh.on("pageerror", lambda exc: errors.append(str(exc)))
    fresh.goto(f"{live_server.url}/outings/")
    expect(fresh.locator("td.when")).to_have_text("Tue 6 Jan, 05:00 IST")
    assert errors == []
    fresh.close()
