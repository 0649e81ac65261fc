"""The Rolls pages in Debian's Chromium: what a run will make, live counts, centers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import make_staff
from tests.screenshots import screenshot
from voterroll import rolls
from voterroll.models import RollRun
from voterroll.seeding import seed_voters

pytestmark = pytest.mark.browser


@pytest.fixture
def officer(transactional_db, monkeypatch):
    # The ORM is called from the test while Playwright's event loop runs in this thread:
    # plain blocking calls of the test, not of an async view.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return make_staff("officer", "Roll officers", password="pw-officer-1")


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/accounts/login/?next=/rolls/")
    page.fill("input[name=username]", "officer")
    page.fill("input[name=password]", "pw-officer-1")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{url}/rolls/")


@pytest.mark.usefixtures("worker")
def test_the_list_says_what_a_run_makes_and_updates_voters_live(officer, live_server, browser_page):
    seed_voters(voters=1200, centers=3, seed=7, locale="en", replace=False)
    page = browser_page
    page.set_viewport_size({"width": 1100, "height": 640})
    sign_in(page, live_server.url)
    forecast = page.locator(".forecast")
    expect(forecast).to_contain_text("1,200 voters in 3 centers")
    expect(forecast).to_contain_text("station books")
    promised = int(forecast.inner_text().rsplit(": ", 1)[1].split()[0].replace(",", ""))

    page.select_option("select[name=strategy]", "per_station")
    page.click("form.start-run button")
    row = page.locator("tr.run").first
    page.wait_for_function(
        "document.querySelector('tr.run .state').textContent === 'done'", timeout=60_000
    )
    # Without a reload: the counts came from the progress updates.
    expect(row.locator(".voters")).to_have_text("1200")
    assert int(row.locator(".pages").inner_text()) == promised
    screenshot(page, "rolls-list", full_page=False)
    assert page.console_errors == []


def test_a_failed_run_shows_its_reason_in_the_list_as_it_fails(officer, live_server, browser_page):
    seed_voters(voters=300, centers=2, seed=3, locale="en", replace=False)
    finished = rolls.create_run(strategy=RollRun.Strategy.BATCHED)
    rolls.fail(finished.id, "The Arabic font is missing: apt-get install fonts-hosny-amiri.")
    watched = rolls.create_run(strategy=RollRun.Strategy.PER_CENTER)
    page = browser_page
    page.set_viewport_size({"width": 1100, "height": 520})
    sign_in(page, live_server.url)
    old, new = (
        page.locator(f"tr.run:has(a[href='/rolls/{finished.id}/'])"),
        page.locator(f"tr.run:has(a[href='/rolls/{watched.id}/'])"),
    )
    expect(old.locator(".error")).to_have_text(
        "The Arabic font is missing: apt-get install fonts-hosny-amiri."
    )
    expect(new.locator(".error")).to_be_hidden()

    rolls.fail(watched.id, "Roll run stalled: no station finished in 900 s.")
    expect(new.locator(".state")).to_have_text("failed")
    expect(new.locator(".error")).to_have_text("Roll run stalled: no station finished in 900 s.")
    screenshot(page, "rolls-list-failed", full_page=False)
    assert page.console_errors == []


def test_the_run_page_shows_stations_once_assigned_grouped_by_center(
    officer, live_server, browser_page
):
    seed_voters(voters=6000, centers=9, seed=11, locale="en", replace=False)
    run = rolls.create_run(strategy=RollRun.Strategy.BATCHED)
    page = browser_page
    page.set_viewport_size({"width": 1100, "height": 760})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/rolls/{run.id}/")
    expect(page.locator(".run .centers")).to_have_text("0")
    expect(page.locator("#stations .empty")).to_be_visible()
    screenshot(page, "rolls-run-queued", full_page=False)

    # No worker: the assignment runs here, as the start task would, while the page watches.
    rolls.assign(run.id)
    run.refresh_from_db()
    expect(page.locator(".run .state")).to_have_text("rendering")
    expect(page.locator(".run .centers")).to_have_text("9")
    expect(page.locator(".run .stations")).to_have_text(str(run.stations_count))
    centers = page.locator("details.center")
    expect(centers).to_have_count(9)
    # Collapsed: the stations of a center show only when it is opened.
    assert page.locator("details.center[open]").count() == 0
    assert not page.locator("details.center table").first.is_visible()

    code = page.locator(".center-jump a").nth(4).inner_text()
    page.click(f".center-jump a:has-text('{code}')")
    expect(page.locator(f"#center-{code}")).to_have_attribute("open", "")
    expect(page.locator(f"#center-{code} table")).to_be_visible()

    page.fill(".center-filter", code.lower())
    expect(page.locator("details.center:visible")).to_have_count(1)
    page.fill(".center-filter", "no such center")
    expect(page.locator("details.center:visible")).to_have_count(0)
    expect(page.locator(".no-match")).to_be_visible()
    page.fill(".center-filter", "")
    expect(page.locator("details.center:visible")).to_have_count(9)
    page.locator(f"#center-{code}").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "rolls-run-centers", full_page=False)
    assert page.console_errors == []
