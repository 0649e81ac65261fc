"""The Tasks dashboard in Debian's Chromium: the chart is drawn and nothing errs."""

import pytest

from tests.factories import make_staff
from tests.tasks import add, outcome

pytestmark = pytest.mark.browser


def test_dashboard_loads_with_its_chart_visible_and_no_console_errors(
    worker, live_server, browser_page, django_user_model, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # ordinary blocking calls of the test, not of an async view.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    make_staff("staff", "Operators", password="s3cret-pass")
    add.delay(2, 2).get(timeout=30)
    outcome.delay("fail").get(timeout=30, propagate=False)
    page = browser_page

    page.goto(f"{live_server.url}/tasks/")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "s3cret-pass")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/tasks/")

    chart = page.locator("svg.chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("svg.chart polyline.series").count() >= 2
    assert page.locator("#failures .exception").first.inner_text() == "ValueError"
    assert page.locator("nav a", has_text="Tasks").is_visible()
    assert browser_page.console_errors == []
