"""Outbox: published on commit, nothing on rollback, relayed after a death before publish."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest
from django.db import transaction
from django_celery_results.models import TaskResult

from tasking import outbox
from tasking.models import OutboxMessage
from tasking.tasks import relay_outbox
from tests.processes import ROOT
from tests.support.waiting import wait_until
from tests.tasks import add


def runs_with(marker: str) -> int:
    return TaskResult.objects.filter(task_kwargs__contains=marker, status="SUCCESS").count()


def test_a_committed_row_is_published_once_and_marked_sent(worker):
    marker = uuid.uuid4().hex

    with transaction.atomic():
        message = outbox.enqueue(add, 2, 3, marker=marker)
        assert not OutboxMessage.objects.get(pk=message.pk).sent_at

    assert add.AsyncResult(str(message.task_id)).get(timeout=20) == 5
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None
    assert runs_with(marker) == 1


def test_a_rolled_back_transaction_publishes_nothing(worker):
    marker = uuid.uuid4().hex

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(add, 1, 1, marker=marker)
        raise RuntimeError("roll back")
    add.delay(0, 0).get(timeout=20)  # the worker has seen everything sent before it

    assert not OutboxMessage.objects.exists()
    assert runs_with(marker) == 0


def test_the_relay_leaves_fresh_rows_alone(worker):
    with transaction.atomic():
        message = outbox.write(add, [1, 2])

    assert relay_outbox.delay().get(timeout=20) == 0
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is None


@pytest.mark.faults
def test_a_process_killed_between_commit_and_publish_has_its_row_relayed(worker, subprocess_env):
    marker = uuid.uuid4().hex
    # Dies in the first on-commit callback, before the outbox's own one can publish.
    script = textwrap.dedent(f"""
        import os, signal, django
        django.setup()
        from django.db import transaction
        from tasking import outbox
        from tests.tasks import add
        with transaction.atomic():
            transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
            outbox.enqueue(add, 20, 22, marker={marker!r})
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=subprocess_env, timeout=60, check=False
    )
    assert done.returncode == -9

    message = OutboxMessage.objects.get(kwargs__marker=marker)
    assert message.sent_at is None
    assert runs_with(marker) == 0

    assert relay_outbox.delay(older_than=0).get(timeout=20) == 1

    assert add.AsyncResult(str(message.task_id)).get(timeout=20) == 42
    wait_until(lambda: runs_with(marker) == 1, what="the relayed task's result")
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None
