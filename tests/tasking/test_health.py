"""/healthz: database, broker, workers, queue coverage and beat, 503 naming what is down."""

import time
import uuid

import pytest
from django.core.cache import cache
from kombu import Queue

from project.celery import app
from tasking import health
from tests.processes import beat_process


def _healthz_until(client, ready, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/healthz").json()
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def test_healthz_reports_every_part_up_with_a_real_beat(worker, subprocess_env, client):
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


def test_beat_that_never_beat_or_stopped_beating_is_unhealthy(worker, client, settings):
    cache.delete(health.BEAT_HEARTBEAT_KEY)
    body = client.get("/healthz").json()
    assert "beat" in body["failing"]
    assert body["checks"]["beat"]["detail"] == "beat has never sent a heartbeat"

    cache.set(health.BEAT_HEARTBEAT_KEY, time.time() - 600, timeout=None)
    settings.HEALTHZ_BEAT_MAX_AGE = 90
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]


def test_a_queue_no_worker_consumes_is_unhealthy(worker, client, monkeypatch):
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
def test_healthz_names_the_broker_when_it_is_unreachable(client, monkeypatch):
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
