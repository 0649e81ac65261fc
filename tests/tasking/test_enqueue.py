"""tasking.enqueue: each guarantee publishes after commit, with the options it was given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tasking import enqueue
from tasking.models import OutboxMessage
from tests.tasks import add


@pytest.mark.django_db
def test_after_commit_publishes_on_commit_with_its_options(
    published, django_capture_on_commit_callbacks
):
    expires = timezone.now() + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue.after_commit(add, 2, 3, expires=expires)

    assert published == []
    callbacks[0]()
    [message] = published
    assert (message.task, message.args, message.expires) == (add.name, [2, 3], expires)


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
    assert [(p.task, p.args) for p in published] == [(add.name, [4, 5])]
