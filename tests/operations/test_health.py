"""/healthz: database, broker, workers, queue coverage and beat, 503 naming what is down."""

import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from kombu import Queue

from operations import health, inspection
from project.celery import app
from tests.factories import make_staff, make_user
from tests.processes import beat_process
from tests.support.waiting import wait_until


@pytest.fixture(autouse=True)
def _no_shared_answer():
    """Start each test with no broker-side answer shared by an earlier one."""
    cache.delete_many([health.SHARED_ANSWER_KEY, health.ASKING_KEY])


def _healthz_until(client, ready, timeout: float = 30) -> dict:
    """Return the first /healthz body ``ready`` accepts."""

    def answer() -> dict | None:
        body = client.get("/healthz").json()
        return body if ready(body) else None

    return wait_until(answer, timeout=timeout, interval=0.3, what="/healthz to report it")


def test_healthz_reports_every_part_up_with_a_real_beat(worker, subprocess_env, staff_client):
    client = staff_client
    cache.delete(health.BEAT_HEARTBEAT_KEY)

    with beat_process(subprocess_env):
        body = _healthz_until(client, lambda b: b["checks"]["beat"]["ok"])
        response = client.get("/healthz")

    assert response.status_code == 200, body
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["beat"]["data"]["last_heartbeat_age_seconds"] < 30
    workers = body["checks"]["workers"]["data"]["workers"]
    assert {"name": worker.hostname, "queues": ["default", "images", "notifications", "pdf"]} in (
        workers
    )
    consumers = body["checks"]["queues"]["data"]["consumers"]
    assert all(worker.hostname in consumers[q] for q in ("default", "images", "notifications"))


def test_beat_that_never_beat_or_stopped_beating_is_unhealthy(worker, staff_client, settings):
    client = staff_client
    cache.delete(health.BEAT_HEARTBEAT_KEY)
    body = client.get("/healthz").json()
    assert "beat" in body["failing"]
    assert body["checks"]["beat"]["detail"] == "beat has never sent a heartbeat"

    cache.set(health.BEAT_HEARTBEAT_KEY, time.time() - 600, timeout=None)
    settings.HEALTHZ_BEAT_MAX_AGE = 90
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_a_queue_no_worker_consumes_is_unhealthy(worker, staff_client, monkeypatch):
    client = staff_client
    health.record_beat_heartbeat()
    orphan = f"orphan-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_queues", [*app.conf.task_queues, Queue(orphan)])

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["queues"]
    assert body["checks"]["queues"]["detail"] == f"no worker consumes {orphan}"
    assert body["checks"]["queues"]["data"]["consumers"][orphan] == []


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_unreachable(staff_client, monkeypatch):
    client = staff_client
    closed_port = "amqp://guest:guest@127.0.0.1:1//"
    # Celery resolves the read URL from broker_url when it loads its config.
    monkeypatch.setattr(app.conf, "broker_read_url", closed_port)
    health.record_beat_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker", "workers", "queues"]
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthcheck_command_fails_naming_the_check_and_passes_once_beat_beats():
    from django.core.management import CommandError, call_command

    cache.delete(health.BEAT_HEARTBEAT_KEY)
    with pytest.raises(CommandError, match="failing: beat"):
        call_command("healthcheck", "beat")

    health.record_beat_heartbeat()
    call_command("healthcheck", "beat", "database")


@pytest.mark.django_db
def test_anonymous_callers_see_ok_or_down_per_part_and_nothing_more(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_read_url", "amqp://guest:guest@127.0.0.1:1//")
    health.record_beat_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {
            "database": "ok",
            "broker": "down",
            "workers": "down",
            "queues": "down",
            "beat": "ok",
        },
    }


def test_details_are_for_operators_and_the_metrics_token(worker, client, settings):
    settings.METRICS_TOKEN = "probe-token"
    health.record_beat_heartbeat()

    anonymous = client.get("/healthz").content.decode()
    with_token = client.get("/healthz", headers={"Authorization": "Bearer probe-token"}).json()
    client.force_login(make_user("someone", is_staff=True))
    staff_only = client.get("/healthz").content.decode()
    client.force_login(make_staff("operator", "Operators"))
    operator = client.get("/healthz").json()

    for text in (anonymous, staff_only):
        assert worker.hostname not in text
        assert "detail" not in text and "postgresql" not in text
    for body in (with_token, operator):
        assert body["checks"]["database"]["detail"] == "postgresql"
        assert worker.hostname in {w["name"] for w in body["checks"]["workers"]["data"]["workers"]}


def test_one_worker_ping_serves_every_caller_at_once_and_for_a_few_seconds(
    worker, settings, monkeypatch
):
    settings.HEALTHZ_CACHE_SECONDS = 3
    health.record_beat_heartbeat()
    pings: list[float] = []
    ask = inspection.workers_and_queues

    def counted(*args, **kwargs):
        pings.append(time.monotonic())
        return ask(*args, **kwargs)

    monkeypatch.setattr(inspection, "workers_and_queues", counted)
    statuses: list[int] = []

    def call() -> None:
        try:
            statuses.append(Client().get("/healthz").status_code)
        finally:
            connection.close()

    callers = [threading.Thread(target=call) for _ in range(20)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    again = Client().get("/healthz").status_code
    time.sleep(settings.HEALTHZ_CACHE_SECONDS + 0.5)
    later = Client().get("/healthz").status_code

    assert statuses == [200] * 20
    assert again == later == 200
    assert len(pings) == 2, "one ping for the 20 callers and the next, one after 3 s"
