"""/healthz: database, broker and workers, 503 naming what is down."""

import pytest

from project.celery import app


def test_healthz_reports_every_part_up_with_worker_queues(worker, client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["database"]["ok"] is True
    workers = body["checks"]["workers"]["data"]["workers"]
    assert {"name": worker.hostname, "queues": ["default", "images", "notifications", "pdf"]} in (
        workers
    )


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_unreachable(client, monkeypatch):
    closed_port = "amqp://guest:guest@127.0.0.1:1//"
    # Celery resolves the read URL from broker_url when it loads its config.
    monkeypatch.setattr(app.conf, "broker_read_url", closed_port)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker", "workers"]
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
