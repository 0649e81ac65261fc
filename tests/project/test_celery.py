"""The Celery app end to end: RabbitMQ, a real worker, results in PostgreSQL."""

import uuid

import pytest
from celery import chord
from django.db import transaction
from django_celery_results.models import TaskResult

from project.celery import app
from tests.tasks import add, total

pytestmark = pytest.mark.usefixtures("worker")


def queue_depth(name: str) -> int:
    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count


def test_task_runs_on_a_real_worker_and_its_result_is_stored_in_the_database(worker):
    with app.connection_for_write() as conn:
        assert conn.transport.driver_type == "amqp"

    result = add.delay(2, 3)

    assert result.get(timeout=20) == 5
    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
    assert row.result == "5"
    assert row.task_name == "tests.add"
    assert worker.hostname.endswith(f"@{row.worker}")


def test_chord_of_fifty_tasks_completes_with_the_database_backend():
    header = [add.s(i, i) for i in range(50)]

    result = chord(header)(total.s())

    assert result.get(timeout=60) == sum(2 * i for i in range(50))
    assert TaskResult.objects.filter(task_name="tests.add").count() == 50
    assert TaskResult.objects.get(task_id=result.id).status == "SUCCESS"


def _runs_with(marker: str) -> int:
    return TaskResult.objects.filter(task_kwargs__contains=marker).count()


def test_delay_on_commit_in_a_rolled_back_transaction_never_runs():
    committed, rolled_back = uuid.uuid4().hex, uuid.uuid4().hex

    with transaction.atomic():
        add.delay_on_commit(1, 1, marker=committed)
    with pytest.raises(RuntimeError), transaction.atomic():
        add.delay_on_commit(1, 1, marker=rolled_back)
        raise RuntimeError("roll back")
    # A task published after both has run, so the worker has seen all that was sent.
    add.delay(0, 0).get(timeout=20)

    assert _runs_with(committed) == 1
    assert _runs_with(rolled_back) == 0


def test_message_with_an_unknown_keyword_argument_still_runs():
    """A message from the next release may carry arguments this one doesn't know."""
    result = app.send_task("tests.add", args=(20, 22), kwargs={"added_next_release": "x"})

    assert result.get(timeout=20) == 42


def test_pickled_message_is_refused_and_removed():
    pickled = app.send_task("tests.add", args=(1, 2), serializer="pickle")
    add.delay(0, 0).get(timeout=20)

    assert not TaskResult.objects.filter(task_id=pickled.id).exists()
    assert queue_depth("default") == 0
