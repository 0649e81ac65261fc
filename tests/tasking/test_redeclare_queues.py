"""Switching queue types: classic queues become quorum ones and keep every queued message."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery
from django.conf import settings
from django_celery_results.models import TaskResult
from kombu import Connection, Exchange, Queue

from tasking import queues
from tests.processes import manage, worker_process
from tests.support.rabbitmq import broker_queues

NAMES = ("default", "images", "notifications", "pdf")


@pytest.fixture
def scratch_vhost(rabbitmq_vhost: str) -> Iterator[str]:
    """A RabbitMQ vhost of this test's own; yields its URL."""
    parts = urlsplit(settings.CELERY_BROKER_URL)
    vhost = f"test-redeclare-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, timeout=60)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, parts.username or "guest"]
        + [".*"] * 3,
        check=True,
        timeout=60,
    )
    yield urlunsplit(parts._replace(path=f"/{vhost}"))
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True, timeout=60)


def previous_release() -> Celery:
    """A Celery app shaped like the release before quorum queues: classic, direct exchange."""
    old = Celery("previous", set_as_current=False)
    old.conf.task_queues = [Queue(name, Exchange("default", "direct"), name) for name in NAMES]
    old.conf.task_default_queue = "default"
    return old


def test_queued_task_messages_survive_the_switch_to_quorum_and_then_run(
    scratch_vhost, subprocess_env
):
    old = previous_release()
    # Its own connection: Celery prefers $CELERY_BROKER_URL (this run's vhost) to broker=.
    with Connection(scratch_vhost, transport_options={"confirm_publish": True}) as conn:
        sent = [
            old.send_task("tests.add", args=(i, i), queue=NAMES[i % 4], connection=conn).id
            for i in range(200)
        ]
    env = {**subprocess_env, "CELERY_BROKER_URL": scratch_vhost}

    output = manage("redeclare_queues", env=env)

    assert "50 messages held while the queue is declared anew" in output
    assert "5 queues as configured; 200 moved." in output
    declared = broker_queues(scratch_vhost.rsplit("/", 1)[1])
    assert {declared[name]["type"] for name in NAMES} == {"quorum"}
    with Connection(scratch_vhost) as conn:
        # Asked of the queues themselves: rabbitmqctl's counts of quorum queues lag.
        ready = [conn.channel().queue_declare(name, passive=True).message_count for name in NAMES]
    assert ready == [50, 50, 50, 50]
    assert "default.redeclaring" not in declared
    # Run again: nothing to do.
    assert "5 queues as configured; 0 moved." in manage("redeclare_queues", env=env)

    with worker_process(env):
        done = TaskResult.objects.filter(task_id__in=sent, status="SUCCESS")
        for _ in range(600):
            if done.count() == len(sent):
                break
            time.sleep(0.1)
    assert done.count() == len(sent)


def test_a_move_cut_short_is_finished_from_the_holding_queue(scratch_vhost):
    wanted = queues.task_queues(
        ("default",), queue_type="quorum", broker_scheme="amqp", delivery_limit=5
    )
    with Connection(scratch_vhost, transport_options={"confirm_publish": True}) as conn:
        holding = Queue("default" + queues.HOLDING_SUFFIX, durable=True)
        holding(conn.default_channel).declare()
        producer = conn.Producer()
        for n in range(30):
            producer.publish({"n": n}, exchange="", routing_key=holding.name, headers={"id": n})

        moved = queues.redeclare(conn, wanted, log=lambda line: None)

        assert moved == {"default": 30}
        got = []
        while (message := conn.default_channel.basic_get("default", no_ack=True)) is not None:
            got.append(conn.default_channel.message_to_python(message).payload["n"])
    assert sorted(got) == list(range(30))
