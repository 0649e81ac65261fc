"""tasking.enqueue: each guarantee publishes after commit, with the options it was given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.db import transaction
from django.utils import timezone

from tasking import enqueue
from tasking.models import OutboxMessage
from tests.tasks import add


@pytest.fixture
def published():
    """Collect (task name, args, headers) of every message published meanwhile."""
    seen: list[tuple[str, list, dict]] = []

    def record(sender, body, headers, **kwargs):
        seen.append((sender, list(body[0]), headers))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


@pytest.mark.django_db
def test_after_commit_publishes_on_commit_with_its_options(
    published, django_capture_on_commit_callbacks
):
    expires = timezone.now() + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue.after_commit(add, 2, 3, expires=expires)

    assert published == []
    callbacks[0]()
    [(name, args, headers)] = published
    assert (name, args) == (add.name, [2, 3])
    assert headers["expires"] == expires.isoformat()


@pytest.mark.django_db
def test_after_commit_in_a_rolled_back_transaction_publishes_nothing(
    published, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue.after_commit(add, 1, 1)
        raise RuntimeError("roll back")

    assert published == []


@pytest.mark.django_db
def test_outbox_writes_the_row_with_its_options_and_publishes_it_on_commit(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue.outbox(add, 4, 5, countdown=30)
        assert published == []

    row = OutboxMessage.objects.get(pk=message.pk)
    assert (row.task_name, row.args, row.options) == (add.name, [4, 5], {"countdown": 30})
    assert row.sent_at is not None
    assert [(name, args) for name, args, _ in published] == [(add.name, [4, 5])]
