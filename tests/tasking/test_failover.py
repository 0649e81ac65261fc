"""A broker URL list fails over to the next node; a publish no node takes goes to the outbox."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

from django.conf import settings
from django_celery_results.models import TaskResult

from tasking import outbox
from tasking.models import OutboxMessage
from tests.processes import ROOT, free_port


def publish_from(env: dict[str, str], messages: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.tasking.failover_publisher", str(messages)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def wait_for_results(ids: list[str], timeout: float = 60) -> int:
    succeeded = TaskResult.objects.filter(task_id__in=ids, status="SUCCESS")
    deadline = time.monotonic() + timeout
    while succeeded.count() < len(ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return succeeded.count()


def _dead_node() -> str:
    """A broker URL nothing answers on (a node that just died)."""
    return f"amqp://guest:guest@127.0.0.1:{free_port()}/"


def test_a_process_whose_first_broker_is_down_publishes_to_the_next(worker, subprocess_env):
    env = {
        **subprocess_env,
        "CELERY_BROKER_URL": f"{_dead_node()};{settings.CELERY_BROKER_URL}",
    }

    ids = publish_from(env, 20)

    assert len(ids) == 20
    assert wait_for_results(ids) == 20
    assert not OutboxMessage.objects.exists()


def test_a_publish_no_broker_takes_lands_in_the_outbox_and_the_relay_sends_it(
    worker, subprocess_env
):
    env = {**subprocess_env, "CELERY_BROKER_URL": f"{_dead_node()};{_dead_node()}"}

    ids = publish_from(env, 3)

    kept = OutboxMessage.objects.filter(task_id__in=ids, sent_at__isnull=True)
    assert kept.count() == 3
    assert {row.task_name for row in kept} == {"tests.add"}
    assert not TaskResult.objects.filter(task_id__in=ids).exists()

    # The broker is back: the relay (beat's tasking.relay_outbox) publishes the rows.
    assert outbox.relay(older_than=timedelta(0)) == 3

    assert wait_for_results(ids) == 3
    assert [TaskResult.objects.get(task_id=i).result for i in ids] == ["0", "2", "4"]
