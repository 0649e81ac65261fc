"""Other brokers: a task round trip through Redis, and the embedded default stack."""

import json
import random
from urllib.request import urlopen

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from tests.processes import (
    beat_process,
    embedded_env,
    embedded_redis,
    healthz_request,
    manage,
    web_process,
    worker_process,
)
from tests.tasks import add


@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_a_redis_broker(subprocess_env):
    """Teams already running Redis can use it as the broker (celery[redis])."""
    db_number = random.randint(1, 15)
    redis_broker = settings.REDIS_URL.rsplit("/", 1)[0] + f"/{db_number}"
    env = {**subprocess_env, "CELERY_BROKER_URL": redis_broker}

    with worker_process(env, args=("--pool", "threads", "--concurrency", "2")):
        with Connection(redis_broker) as conn, conn.Producer() as producer:
            result = add.apply_async((40, 2), producer=producer)
        assert result.get(timeout=30) == 42
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM django_celery_results_taskresult WHERE task_id=%s", [result.id]
        )
        assert cursor.fetchone() == ("SUCCESS",)


CHORD_SCRIPT = """
from celery import chord
from tests.tasks import add, total
result = chord(add.s(i, 1) for i in range(20))(total.s())
print("chord total", result.get(timeout=90))
"""


@pytest.mark.embedded
def test_embedded_default_completes_a_chord_and_reports_healthy(tmp_path):
    """`make run`'s stack with no production variable: SQLite and the embedded Redis."""
    env = embedded_env(tmp_path)
    manage("migrate", "--noinput", env=env, timeout=300)

    # Two prefork processes finishing chord parts at once is what makes SQLite lock.
    with (
        embedded_redis(tmp_path),
        worker_process(env, args=("--concurrency", "2")),
        beat_process(env),
        web_process(env) as base,
    ):
        output = manage("shell", "-c", CHORD_SCRIPT, env=env)
        with urlopen(healthz_request(base), timeout=30) as response:  # noqa: S310 - local
            status, body = response.status, json.load(response)

    assert "chord total 210" in output
    assert status == 200, body
    assert body["checks"]["workers"]["ok"] is True
    assert body["checks"]["broker"]["detail"].startswith("embedded Redis")
    assert (tmp_path / "db.sqlite3").exists()
    # The broker's messages, the beat heartbeat and the results' locks persisted there.
    assert (tmp_path / "redis" / "appendonly.aof").stat().st_size > 0
