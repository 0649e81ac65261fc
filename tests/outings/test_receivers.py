"""Creating an outing publishes its announcement once, only after commit."""

from __future__ import annotations

import pytest
from django.core import serializers
from django.db import transaction

from outings.models import Outing
from tasking.models import OutboxMessage


def test_a_new_outing_enqueues_one_announcement_on_commit(
    make_outing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        outing = make_outing()
        outing.title = "Edited"
        outing.save()

    assert len(callbacks) == 1
    # Through the outbox: the row commits with the outing, so the relay can publish it
    # if this process dies before the on-commit publish.
    row = OutboxMessage.objects.get()
    assert (row.task_name, row.args) == ("outings.announce_outing", [outing.pk])


def test_a_rolled_back_outing_enqueues_nothing(make_outing, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_outing()
        raise RuntimeError("roll back")

    assert callbacks == []
    assert not OutboxMessage.objects.exists()


def test_loading_a_fixture_enqueues_nothing(make_outing, django_capture_on_commit_callbacks):
    data = serializers.serialize("json", [make_outing()])
    Outing.objects.all().delete()

    with django_capture_on_commit_callbacks() as callbacks:
        for obj in serializers.deserialize("json", data):
            obj.save()

    assert Outing.objects.count() == 1
    assert callbacks == []
