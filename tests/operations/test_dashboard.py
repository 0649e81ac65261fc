"""The Tasks dashboard: live workers, failures with tracebacks, the chart, staff only."""

import time
import uuid
from datetime import datetime, timedelta

import pytest
from celery import Celery
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult
from kombu import Queue

from operations import dashboard, inspection, progress, throughput
from operations.tasks import sample_throughput
from tests.factories import make_staff
from tests.support.waiting import wait_until
from tests.tasks import add, count_run, outcome

pytestmark = pytest.mark.usefixtures("fresh_dashboard")


def test_dashboard_shows_live_workers_a_failure_with_its_traceback_and_the_chart(
    worker, staff_client
):
    throughput.sample()
    add.delay(1, 2).get(timeout=30)
    failing = outcome.delay("fail")
    failing.get(timeout=30, propagate=False)
    # No stored result: counted all the same.
    run = f"dashboard-{uuid.uuid4().hex}"
    for seq in range(3):
        count_run.delay(run, seq)
    wait_until(
        lambda: throughput.totals().get("default succeeded", 0) >= 4,
        interval=0.1,
        what="four successes counted",
    )
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
    # Every task since the snapshot, three of them without a stored result.
    assert "default succeeded (4)" in page
    assert "default failed (1)" in page
    assert "4 succeeded, 1 failed" in page
    # RabbitMQ counts the consumers: the test worker consumes the default queue.
    assert '<td class="consumers">1</td>' in page
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


@pytest.mark.django_db
def test_next_run_comes_from_the_schedule_for_tasks_never_run_or_overdue(staff_client):
    daily = CrontabSchedule.objects.create(minute="0", hour="4", timezone="UTC")
    PeriodicTask.objects.create(name="never ran", task="tests.add", crontab=daily)
    PeriodicTask.objects.create(
        name="overdue",
        task="tests.add",
        crontab=daily,
        last_run_at=timezone.now() - timedelta(days=2),
    )
    now = timezone.now()
    tomorrow_four = now.replace(hour=4, minute=0, second=0, microsecond=0)
    if tomorrow_four <= now:
        tomorrow_four += timedelta(days=1)

    rows = {row["name"]: row for row in dashboard.periodic_tasks()}

    for name in ("never ran", "overdue"):
        assert rows[name]["next_run"].astimezone(tomorrow_four.tzinfo) == tomorrow_four
    assert rows["never ran"]["due_since"] is None
    assert rows["overdue"]["due_since"] < now - timedelta(days=1)
    page = staff_client.get("/tasks/").content.decode()
    assert f"{timezone.localtime(tomorrow_four):%Y-%m-%d %H:%M:%S}" in page
    assert "overdue since" in page


def test_without_broker_consumer_counts_the_workers_that_consume_a_queue_count(
    settings, redis_server
):
    # Redis as broker (the embedded default's transport) does not count consumers.
    app = Celery("redis-broker", set_as_current=False)
    # Not broker_url: CELERY_BROKER_URL in the environment (RabbitMQ) would win over it.
    app.conf.broker_read_url = app.conf.broker_write_url = settings.REDIS_URL
    name = f"dashboard-{uuid.uuid4().hex[:8]}"
    app.conf.task_queues = [Queue(name), Queue(f"{name}-idle")]
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            queue.bind(conn.default_channel).declare()
    try:
        rows = dashboard.queues(app, workers=[{"name": "w1", "queues": [name]}])
    finally:
        with app.connection_for_write() as conn:
            for queue in app.conf.task_queues:
                queue.bind(conn.default_channel).delete()

    assert {row["name"]: row["consumers"] for row in rows} == {name: 1, f"{name}-idle": 0}


def test_one_worker_inspection_serves_every_load_for_a_few_seconds(
    worker, staff_client, settings, monkeypatch
):
    settings.DASHBOARD_CACHE_SECONDS = 2
    asked: list[float] = []
    ask = inspection.workers_and_queues

    def counted(*args, **kwargs):
        asked.append(time.monotonic())
        return ask(*args, **kwargs)

    monkeypatch.setattr(inspection, "workers_and_queues", counted)
    pages = [staff_client.get("/tasks/").content.decode() for _ in range(5)]
    assert len(asked) == 1, "one inspection for the first five loads"
    time.sleep(settings.DASHBOARD_CACHE_SECONDS + 0.5)
    later = staff_client.get("/tasks/").content.decode()
    wait_until(lambda: len(asked) >= 2, timeout=10, what="a second inspection")

    # The later load answered from the last inspection while a thread asked again.
    assert len(asked) == 2
    for page in [*pages, later]:
        assert f'<td class="worker-name">{worker.hostname}</td>' in page


def test_counts_per_minute_are_counter_increases_across_restarts_and_gaps(redis_server):
    now = datetime(2026, 1, 1, 12, 30, 20, tzinfo=timezone.get_current_timezone())
    minutes = throughput.chart_minutes(now, 5)
    snapshots = {
        minutes[0]: {"images succeeded": 10},
        minutes[1]: {"images succeeded": 15, "images failed": 1},
        # minutes[2]: none (beat was down): minutes 1 and 2 are counted together, in 2.
        minutes[3]: {"images succeeded": 40, "images failed": 1},
        # minutes[4]: none yet; the worker restarted, its counters began again at 0.
    }
    for minute, totals in snapshots.items():
        cache.set(throughput.minute_key(minute), totals, timeout=60)

    counts = throughput.per_minute(minutes, current={"images succeeded": 7})

    assert counts["images succeeded"] == [5, 0, 25, 0, 7]
    assert counts["images failed"] == [1, 0, 0, 0, 0]


def test_beat_takes_a_counter_snapshot_every_minute_on_a_worker(worker, settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tasking.sample_throughput"]
    assert entry["schedule"] == 60
    # This minute's snapshot, or the next one's if the minute ends meanwhile.
    minute = throughput.chart_minutes(timezone.now(), 1)[0]
    keys = [throughput.minute_key(minute), throughput.minute_key(minute + timedelta(minutes=1))]

    sample_throughput.delay()

    wait_until(lambda: cache.get_many(keys), interval=0.1, what="this minute's snapshot")
    snapshot = next(iter(cache.get_many(keys).values()))
    assert isinstance(snapshot, dict)
