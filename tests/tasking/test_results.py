"""The result backend counts each chord header task once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from celery import states
from django_celery_results.models import ChordCounter

from project.celery import app
from tasking.models import ChordVote
from tests.tasks import add, total

pytestmark = pytest.mark.usefixtures("worker")


def two_task_chord(callback, *outcomes: tuple[object, str]):
    """Record a chord of two finished header tasks; return a function that votes for one."""
    group_id = str(uuid.uuid4())
    task_ids = [str(uuid.uuid4()) for _ in outcomes]
    header = app.GroupResult(group_id, [app.AsyncResult(task_id) for task_id in task_ids])
    app.backend.apply_chord(header, callback)
    for task_id, (value, state) in zip(task_ids, outcomes, strict=True):
        app.backend.store_result(task_id, value, state)

    def vote(index: int) -> None:
        request = SimpleNamespace(id=task_ids[index], group=group_id, chord=callback)
        app.backend.on_chord_part_return(request, states.SUCCESS, None)

    return group_id, vote


def test_a_header_task_that_ran_twice_is_counted_once():
    callback = total.s().set(task_id=str(uuid.uuid4()))
    group_id, vote = two_task_chord(callback, (2, states.SUCCESS), (3, states.SUCCESS))

    # The first header message delivered twice, as after a lost ack.
    vote(0)
    vote(0)
    assert ChordCounter.objects.get(group_id=group_id).count == 1
    assert app.AsyncResult(callback.id).state == states.PENDING

    vote(1)
    assert app.AsyncResult(callback.id).get(timeout=30) == 5
    assert not ChordCounter.objects.filter(group_id=group_id).exists()
    assert not ChordVote.objects.filter(group_id=group_id).exists()


def test_an_immutable_callback_is_sent_once_every_header_task_succeeded():
    # Sent without loading the header's results, which it does not take.
    callback = add.si(20, 22).set(task_id=str(uuid.uuid4()))
    _, vote = two_task_chord(callback, (1, states.SUCCESS), (2, states.SUCCESS))

    vote(0)
    vote(1)

    assert app.AsyncResult(callback.id).get(timeout=30) == 42


def test_an_immutable_callback_fails_when_a_header_task_failed():
    callback = add.si(20, 22).set(task_id=str(uuid.uuid4()))
    _, vote = two_task_chord(
        callback, (1, states.SUCCESS), (ValueError("station 7 broke"), states.FAILURE)
    )

    vote(0)
    vote(1)

    result = app.AsyncResult(callback.id)
    assert result.state == states.FAILURE
    assert "ended FAILURE" in str(result.result)
