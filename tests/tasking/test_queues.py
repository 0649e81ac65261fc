"""Project queues on RabbitMQ: quorum, on a topic exchange, countdowns delayed by the broker."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django_celery_results.models import TaskResult

from operations import deadletters
from project.celery import app
from tasking import queues
from tests.support.rabbitmq import broker_queues
from tests.tasks import add


def test_settings_default_to_quorum_on_rabbitmq():
    assert settings.CELERY_QUEUE_TYPE == "quorum"
    for queue in settings.CELERY_TASK_QUEUES:
        assert queue.exchange.name == "tasks"
        assert queue.exchange.type == "topic"
        assert queue.queue_arguments["x-queue-type"] == "quorum"
        assert queue.queue_arguments["x-delivery-limit"] == settings.CELERY_DELIVERY_LIMIT


def test_an_unknown_queue_type_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="must be one of quorum, classic"):
        queues.queue_arguments("mirrored", delivery_limit=3)


def test_the_worker_declares_every_project_queue_quorum_with_a_dead_letter_queue(worker):
    declared = broker_queues()

    for name in ("default", "images", "notifications", "pdf"):
        assert declared[name]["type"] == "quorum"
        assert declared[name]["arguments"]["x-dead-letter-exchange"] == "dead"
    assert declared["dead"]["type"] == "quorum"
    # Native delayed delivery's levels exist, so countdowns wait in the broker.
    assert declared["celery_delayed_0"]["type"] == "quorum"


def test_a_countdown_waits_in_the_broker_not_in_the_worker(worker):
    started = time.monotonic()
    result = add.apply_async((2, 2), countdown=3)

    time.sleep(1)
    # Held by a worker, it would be listed as scheduled; it waits in a delay queue instead.
    scheduled = app.control.inspect(timeout=2).scheduled() or {}
    assert all(not tasks for tasks in scheduled.values())
    assert result.get(timeout=30) == 4
    assert time.monotonic() - started >= 2.5


def test_a_sub_second_countdown_is_published_as_one_second(worker):
    assert add.apply_async((1, 1), countdown=0.3).get(timeout=30) == 2


def test_an_expired_task_is_dropped_unrun_and_not_dead_lettered(worker):
    result = add.apply_async((5, 5), countdown=2, expires=1)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not TaskResult.objects.filter(task_id=result.id):
        time.sleep(0.2)

    assert TaskResult.objects.get(task_id=result.id).status == "REVOKED"
    assert all(letter.task_id != result.id for letter in deadletters.listing(app))


def test_a_retry_goes_back_to_the_queue_it_was_delivered_from():
    """A retry names its exchange and delayed routing key; the queue is found from them."""
    delayed_key = "0." * 27 + "1.faults"

    after_delay = {"exchange": "celery_delayed_delivery", "routing_key": delayed_key}
    options = queues.publish_options(after_delay)

    assert (options["queue"], options["exchange"], options["routing_key"]) == (
        "faults",
        "tasks",
        "faults",
    )
    assert queues.publish_options({"exchange": "tasks", "routing_key": "pdf"})["queue"] == "pdf"
    assert "queue" not in queues.publish_options({"exchange": "", "routing_key": "faults"})


def test_the_worker_uses_per_consumer_prefetch_of_one_per_process(worker):
    """Quorum queues refuse global QoS; the prefetch stays multiplier x concurrency."""
    assert worker.consumer.qos_global is False
    per_process = settings.CELERY_WORKER_PREFETCH_MULTIPLIER
    assert worker.consumer.qos.value == per_process * worker.concurrency
