"""The Tasks dashboard in Debian's Chromium: the chart is drawn and nothing errs."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from operations import throughput
from tests.factories import make_staff
from tests.screenshots import screenshot
from tests.support.waiting import wait_until
from tests.tasks import add, outcome

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_dashboard")]


def test_dashboard_loads_with_its_chart_visible_and_no_console_errors(
    worker, live_server, browser_page, django_user_model, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # ordinary blocking calls of the test, not of an async view.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    make_staff("staff", "Operators", password="s3cret-pass")
    daily = CrontabSchedule.objects.create(minute="0", hour="4", timezone="UTC")
    PeriodicTask.objects.create(name="nightly cleanup", task="tests.add", crontab=daily)
    throughput.sample()
    for n in range(5):
        add.delay(n, n).get(timeout=30)
    outcome.delay("fail").get(timeout=30, propagate=False)
    wait_until(
        lambda: throughput.totals().get("default failed", 0) >= 1,
        interval=0.1,
        what="the failure counted",
    )
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
    assert "5 succeeded, 1 failed" in page.locator("#last-hour .summary").inner_text()
    consumers = page.locator("#queues td.consumers").all_inner_texts()
    assert consumers and all(count.isdigit() for count in consumers), consumers
    next_run = page.locator("#periodic td.next-run").first.inner_text()
    assert next_run.endswith(":00:00"), next_run
    page.set_viewport_size({"width": 1100, "height": 1000})
    screenshot(page, "tasks-dashboard")
    assert browser_page.console_errors == []
