"""The result backend counts each chord header task once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from celery import states
from django_celery_results.models import ChordCounter

from project.celery import app
from tasking.models import ChordVote
from tests.tasks import total

pytestmark = pytest.mark.usefixtures("worker")


def test_a_header_task_that_ran_twice_is_counted_once():
    group_id, first, second = (str(uuid.uuid4()) for _ in range(3))
    callback = total.s().set(task_id=str(uuid.uuid4()))
    header = app.GroupResult(group_id, [app.AsyncResult(first), app.AsyncResult(second)])
    app.backend.apply_chord(header, callback)
    for task_id, value in ((first, 2), (second, 3)):
        app.backend.store_result(task_id, value, states.SUCCESS)

    def vote(task_id: str) -> None:
        request = SimpleNamespace(id=task_id, group=group_id, chord=callback)
        app.backend.on_chord_part_return(request, states.SUCCESS, None)

    # The first header message delivered twice, as after a lost ack.
    vote(first)
    vote(first)
    assert ChordCounter.objects.get(group_id=group_id).count == 1
    assert app.AsyncResult(callback.id).state == states.PENDING

    vote(second)
    assert app.AsyncResult(callback.id).get(timeout=30) == 5
    assert not ChordCounter.objects.filter(group_id=group_id).exists()
    assert not ChordVote.objects.filter(group_id=group_id).exists()
