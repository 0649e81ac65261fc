"""Dead letters: a poison message leaves its quorum queue for ``dead``; staff requeue or drop it."""

from __future__ import annotations

import time

from django.conf import settings
from django_celery_results.models import TaskResult

from operations import deadletters
from project.celery import app
from tests.tasking.tasks import poison, redis


def _wait_for_dead(task_id: str, timeout: float = 60) -> deadletters.DeadLetter:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for letter in deadletters.listing(app):
            if letter.task_id == task_id:
                return letter
        time.sleep(0.2)
    raise AssertionError(f"{task_id} never reached the dead queue")


def test_a_message_returned_past_the_delivery_limit_is_dead_lettered_and_requeued_by_staff(
    worker, staff_client, run
):
    redis().set(f"{run}:poisoned", 1)
    sent = poison.delay(run)

    letter = _wait_for_dead(sent.id)

    assert letter.reason == "delivery_limit"
    assert letter.queue == "default"
    assert letter.task_name == "tests.poison"
    # The first delivery and CELERY_DELIVERY_LIMIT returns, then no more.
    time.sleep(1)
    assert redis().llen(f"{run}:deliveries") == settings.CELERY_DELIVERY_LIMIT + 1
    page = staff_client.get("/tasks/").content.decode()
    assert '<section id="dead-letters">' in page
    assert f"<small>{sent.id}</small>" in page
    assert "delivery_limit" in page

    redis().delete(f"{run}:poisoned")
    response = staff_client.post(f"/tasks/dead/{sent.id}", {"action": "requeue"}, follow=True)

    assert f"Dead letter {sent.id} requeued." in response.content.decode()
    assert sent.get(timeout=30) == "ran"
    assert redis().lrange(run, 0, -1) == [sent.id.encode()]
    assert TaskResult.objects.get(task_id=sent.id).status == "SUCCESS"
    assert all(letter.task_id != sent.id for letter in deadletters.listing(app))


def test_a_message_no_worker_knows_is_dead_lettered_and_dropped_by_staff(worker, staff_client):
    sent = app.send_task("tests.no_such_task", args=(1,))

    letter = _wait_for_dead(sent.id)

    assert letter.reason == "rejected"
    assert letter.task_name == "tests.no_such_task"
    response = staff_client.post(f"/tasks/dead/{sent.id}", {"action": "drop"}, follow=True)
    assert f"Dead letter {sent.id} dropped." in response.content.decode()
    assert all(letter.task_id != sent.id for letter in deadletters.listing(app))
    again = staff_client.post(f"/tasks/dead/{sent.id}", {"action": "drop"}, follow=True)
    assert "someone handled it already" in again.content.decode()


def test_only_operators_may_requeue_or_drop(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))

    assert client.post("/tasks/dead/abc", {"action": "drop"}).status_code == 403
