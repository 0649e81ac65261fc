"""The Tasks dashboard: live workers, failures with tracebacks, the chart, staff only."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from tasking import progress
from tests.factories import make_staff
from tests.tasks import add, outcome


def test_dashboard_shows_live_workers_a_failure_with_its_traceback_and_the_chart(
    worker, staff_client
):
    add.delay(1, 2).get(timeout=30)
    failing = outcome.delay("fail")
    failing.get(timeout=30, propagate=False)
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="sweep", task="tests.add", interval=every_minute)

    response = staff_client.get("/tasks/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<td class="worker-name">{worker.hostname}</td>' in page
    row = TaskResult.objects.get(task_id=failing.id)
    assert f"/admin/django_celery_results/taskresult/{row.pk}/change/" in page
    assert '<strong class="exception">ValueError</strong>: asked to fail' in page
    assert "raise ValueError(&quot;asked to fail&quot;)" in page
    assert '<svg class="chart"' in page
    # Every result so far ran on the default queue (the worker's start-up ping too).
    assert f"default succeeded ({TaskResult.objects.filter(status='SUCCESS').count()})" in page
    assert "default failed (1)" in page
    assert ">sweep</a>" in page
    assert f'http-equiv="refresh" content="{15}"' in page


@pytest.mark.django_db
def test_dashboard_renders_what_progress_providers_report(staff_client):
    def rolls() -> list[dict]:
        return [{"label": "Roll 2026", "done": 3, "total": 12, "state": "running", "url": "/r/1"}]

    progress.register(rolls)
    try:
        page = staff_client.get("/tasks/").content.decode()
    finally:
        progress.unregister(rolls)

    assert '<a href="/r/1">Roll 2026</a>' in page
    assert '<progress value="3" max="12">25%</progress> 3 / 12' in page


@pytest.mark.django_db
def test_a_failing_progress_provider_does_not_break_the_dashboard(staff_client):
    def broken() -> list[dict]:
        raise RuntimeError("provider bug")

    progress.register(broken)
    try:
        response = staff_client.get("/tasks/")
    finally:
        progress.unregister(broken)

    assert response.status_code == 200
    assert "Nothing is running." in response.content.decode()


@pytest.mark.django_db
def test_dashboard_is_refused_to_non_staff_and_sends_anonymous_users_to_sign_in(
    client, django_user_model
):
    anonymous = client.get("/tasks/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")

    client.force_login(django_user_model.objects.create_user("someone", password="x"))
    assert client.get("/tasks/").status_code == 403

    client.force_login(make_staff("roll-officer", "Roll officers"))
    assert client.get("/tasks/").status_code == 403


@pytest.mark.django_db
def test_navigation_links_the_dashboard_for_staff_only(client, staff_client, django_user_model):
    assert 'href="/tasks/"' in staff_client.get("/").content.decode()

    client.force_login(django_user_model.objects.create_user("someone", password="x"))
    assert 'href="/tasks/"' not in client.get("/").content.decode()
