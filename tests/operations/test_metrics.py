"""Task metrics collected in real workers from Celery's signals, served on /metrics."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from celery.exceptions import TaskRevokedError
from django.utils import timezone
from kombu import Queue

from operations import metrics
from project.celery import app
from tests.factories import staff_group
from tests.processes import ROOT, free_port, manage, worker_process
from tests.support.metrics import METRICS_TOKEN, Samples
from tests.tasks import outcome, retry_once, whoami


def test_counts_and_runtimes_of_a_real_worker_carry_names_and_exceptions(worker, scrape):
    host = worker.hostname
    before = scrape()

    results = [outcome.delay("ok") for _ in range(3)]
    results += [outcome.delay("fail") for _ in range(2)]
    results.append(retry_once.delay())
    for result in results:
        result.get(timeout=30, propagate=False)
    after = scrape()

    def delta(metric: str, /, **labels: str) -> float:
        return after.total(metric, **labels) - before.total(metric, **labels)

    ours = {"hostname": host, "queue_name": "default"}
    assert delta("celery_task_sent_total", name="tests.outcome", queue_name="default") == 5
    assert delta("celery_task_received_total", name="tests.outcome", **ours) == 5
    assert delta("celery_task_started_total", name="tests.outcome", **ours) == 5
    assert delta("celery_task_succeeded_total", name="tests.outcome", **ours) == 3
    assert delta("celery_task_failed_total", name="tests.outcome", exception="ValueError") == 2
    assert delta("celery_task_failed_total", name="tests.outcome") == 2
    assert delta("celery_task_retried_total", name="tests.retry_once", **ours) == 1
    # The retry is a second message and a second run, which then succeeds.
    assert delta("celery_task_sent_total", name="tests.retry_once") == 2
    assert delta("celery_task_succeeded_total", name="tests.retry_once") == 1
    assert delta("celery_task_runtime_seconds_count", name="tests.outcome", **ours) == 5
    assert delta("celery_task_queue_wait_seconds_count", name="tests.outcome", **ours) == 5
    assert after.total("celery_worker_tasks_active", hostname=host) == 0


def test_an_expired_task_is_counted_as_revoked(worker, scrape):
    before = scrape().total("celery_task_revoked_total", name="tests.outcome")

    expired = outcome.apply_async(("ok",), expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TaskRevokedError):
        expired.get(timeout=30)

    after = scrape().total("celery_task_revoked_total", name="tests.outcome")
    assert after - before == 1


def test_queue_length_counts_messages_published_to_a_queue_no_worker_consumes(
    worker, scrape, monkeypatch
):
    idle = f"idle-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_queues", [*app.conf.task_queues, Queue(idle)])
    try:
        for _ in range(4):
            app.send_task("tests.add", args=(1, 1), queue=idle)

        samples = scrape()
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(idle)

    assert samples.total("celery_queue_length", queue_name=idle) == 4
    assert samples.total("celery_active_consumer_count", queue_name=idle) == 0
    assert samples.total("celery_active_worker_count", queue_name=idle) == 0
    assert samples.total("celery_active_worker_count", queue_name="default") >= 1
    assert samples.total("celery_worker_up", hostname=worker.hostname) == 1
    assert {"hostname": worker.hostname, "queue_name": "pdf"} in samples.labels_of(
        "celery_worker_queue"
    )


def test_prefork_children_of_a_worker_process_add_up(subprocess_env, scrape):
    queue = f"prefork-{uuid.uuid4().hex[:8]}"
    env = {**subprocess_env, "WORKER_QUEUES": queue}

    with worker_process(env, args=("--pool", "prefork", "--concurrency", "2")) as node:
        # Long enough that both children take some of the eight.
        results = [whoami.apply_async((0.3,), queue=queue) for _ in range(8)]
        pids = {result.get(timeout=60) for result in results}
        samples = scrape()

    assert len(pids) == 2, "both prefork children should have run tasks"
    assert samples.total("celery_task_succeeded_total", name="tests.whoami", hostname=node) == 8
    assert samples.total("celery_task_runtime_seconds_count", hostname=node) == 8
    assert samples.total("celery_task_received_total", hostname=node, queue_name=queue) == 8


@pytest.mark.django_db
def test_application_figures_count_rows_by_a_configured_field(scrape, settings):
    from django_celery_results.models import TaskResult

    TaskResult.objects.create(task_id="a", status="SUCCESS")
    TaskResult.objects.create(task_id="b", status="SUCCESS")
    TaskResult.objects.create(task_id="c", status="FAILURE")
    settings.METRICS_STATE_COUNTS = {
        "results": "django_celery_results.TaskResult:status",
        "not_built_yet": "posts.NoSuchModel",
        "no_such_app": "nowhere.Thing",
    }

    samples = scrape()

    assert samples.total("backlot_objects", kind="results", state="SUCCESS") == 2
    assert samples.total("backlot_objects", kind="results", state="FAILURE") == 1
    assert {labels["kind"] for labels in samples.labels_of("backlot_objects")} == {"results"}


@pytest.mark.django_db
def test_metrics_refuse_anonymous_requests_and_wrong_tokens(client, settings):
    settings.METRICS_TOKEN = "right"

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer right"})
    assert right.status_code == 200
    assert b"# TYPE celery_queue_length gauge" in right.content


@pytest.mark.django_db
def test_no_token_configured_means_no_token_is_accepted(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.django_db
def test_metrics_are_readable_by_operators_and_refused_to_other_users(client, django_user_model):
    user = django_user_model.objects.create_user("someone", password="x")
    client.force_login(user)
    assert client.get("/metrics").status_code == 401

    user.is_staff = True
    user.save()
    assert client.get("/metrics").status_code == 401

    user.groups.add(staff_group("Operators"))
    assert client.get("/metrics").status_code == 200


def test_worker_start_removes_only_files_of_dead_processes_on_this_host(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    host = metrics.process_identifier().rsplit("-", 1)[0]
    dead = tmp_path / f"counter_{host}-999999999.db"
    alive = tmp_path / f"counter_{metrics.process_identifier()}.db"
    other_host = tmp_path / "counter_elsewhere-999999999.db"
    for path in (dead, alive, other_host):
        path.write_bytes(b"")

    metrics.remove_files_of_dead_processes()

    assert not dead.exists()
    assert alive.exists()
    assert other_host.exists()


def test_a_worker_on_a_host_of_its_own_serves_its_metrics_on_its_port(subprocess_env, scrape):
    queue = f"own-host-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **subprocess_env,
        "WORKER_QUEUES": queue,
        "WORKER_METRICS_PORT": str(port),
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    url = f"http://127.0.0.1:{port}/metrics"

    with worker_process(env, args=("--pool", "prefork", "--concurrency", "2")) as node:
        results = [whoami.apply_async((0.3,), queue=queue) for _ in range(8)]
        pids = {result.get(timeout=60) for result in results}
        own = Samples(get(url, token=METRICS_TOKEN)[1])
        refused = get(url, token="wrong")[0], get(url)[0]
        on_web = scrape()

    assert len(pids) == 2, "both prefork children should have run tasks"
    assert own.total("celery_task_succeeded_total", name="tests.whoami", hostname=node) == 8
    assert own.total("celery_task_received_total", hostname=node, queue_name=queue) == 8
    assert own.total("celery_task_runtime_seconds_count", hostname=node) == 8
    assert refused == (401, 401)
    # The web's /metrics leaves them out (Prometheus scrapes both: no double count), and
    # still counts what this process published.
    assert on_web.total("celery_task_started_total", hostname=node) == 0
    assert on_web.total("celery_task_sent_total", name="tests.whoami", queue_name=queue) == 8


def get(url: str, token: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_a_worker_port_without_a_token_stops_the_process_naming_the_variable(subprocess_env):
    env = {**subprocess_env, "WORKER_METRICS_PORT": "9808", "METRICS_TOKEN": ""}

    with pytest.raises(AssertionError, match="WORKER_METRICS_PORT is set but METRICS_TOKEN"):
        manage("check", env=env)


def test_importing_the_metrics_changes_nothing_until_the_app_is_ready():
    script = (
        "import os\n"
        "os.environ.pop('PROMETHEUS_MULTIPROC_DIR', None)\n"
        "from prometheus_client import values\n"
        "before = values.ValueClass\n"
        "import operations.metrics\n"
        "print(os.environ.get('PROMETHEUS_MULTIPROC_DIR'), values.ValueClass is before)\n"
        "import django\n"
        "django.setup()\n"
        "directory = os.environ.get('PROMETHEUS_MULTIPROC_DIR')\n"
        "print(directory is not None, values.ValueClass is before)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    lines = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    assert lines == ["None True", "True False"]
