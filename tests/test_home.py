"""The home page, as a person sees it in a browser."""

import pytest

from tests.screenshots import screenshot

pytestmark = pytest.mark.browser


def test_home_page_links_every_app(live_server, browser_page):
    browser_page.goto(live_server.url)

    assert browser_page.locator("h1").inner_text() == "Background work, done right"
    links = browser_page.locator(".cards a.card h2").all_inner_texts()
    assert links == ["Posts", "Outings", "Voter rolls", "Health"]
    assert browser_page.console_errors == []


def test_every_page_has_a_favicon_and_favicon_ico_finds_it(live_server, browser_page):
    browser_page.goto(live_server.url)
    icon = browser_page.locator("link[rel=icon]").get_attribute("href")

    served = browser_page.request.get(f"{live_server.url}{icon}")
    assert served.status == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in served.body()
    # Pages without the link (/healthz's JSON) make browsers ask for /favicon.ico.
    redirected = browser_page.request.get(f"{live_server.url}/favicon.ico")
    assert redirected.status == 200 and redirected.url.endswith(icon)
    browser_page.set_viewport_size({"width": 64, "height": 64})
    browser_page.goto(f"{live_server.url}{icon}")
    screenshot(browser_page, "favicon", full_page=False)
    assert browser_page.console_errors == []
