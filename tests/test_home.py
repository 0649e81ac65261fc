"""The home page, as a person sees it in a browser."""

import pytest

pytestmark = pytest.mark.browser


def test_home_page_links_every_app(live_server, browser_page):
    browser_page.goto(live_server.url)

    assert browser_page.locator("h1").inner_text() == "Background work, done right"
    links = browser_page.locator(".cards a.card h2").all_inner_texts()
    assert links == ["Posts", "Outings", "Voter rolls", "Health"]
    assert browser_page.console_errors == []
