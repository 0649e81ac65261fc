"""The result backend counts each chord header task once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from celery import states
from django.db import OperationalError
from django_celery_results.models import ChordCounter, TaskResult

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


def test_a_result_is_written_over_its_started_row_keeping_when_it_started():
    task_id = str(uuid.uuid4())
    app.backend.store_result(task_id, None, states.STARTED)
    started = TaskResult.objects.get(task_id=task_id)

    app.backend.store_result(task_id, 42, states.SUCCESS)

    row = TaskResult.objects.get(task_id=task_id)
    assert (row.status, row.result) == (states.SUCCESS, "42")
    assert row.date_started == started.date_started
    assert started.date_started is not None
    assert row.date_created == started.date_created
    assert row.date_done >= started.date_done
    assert app.AsyncResult(task_id).get(timeout=5) == 42


def test_a_vote_for_a_chord_whose_callback_was_sent_leaves_no_row():
    request = SimpleNamespace(id=str(uuid.uuid4()), group=str(uuid.uuid4()), chord=add.si(1, 2))

    app.backend.on_chord_part_return(request, states.SUCCESS, None)

    assert not ChordVote.objects.filter(task_id=request.id).exists()


def test_a_callback_whose_sending_hit_a_database_error_is_sent_on_the_retry(monkeypatch):
    # The last vote has committed (the counter is gone) when the database drops: retrying
    # the whole vote would find no counter and send nothing.
    callback = add.si(20, 22).set(task_id=str(uuid.uuid4()))
    _, vote = two_task_chord(callback, (1, states.SUCCESS), (2, states.SUCCESS))
    send = app.backend._send_callback
    attempts = []

    def dropped_once(request, counter):
        attempts.append(request.id)
        if len(attempts) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return send(request, counter)

    monkeypatch.setattr(app.backend, "_send_callback", dropped_once)
    vote(0)
    vote(1)

    assert len(attempts) == 2
    assert app.AsyncResult(callback.id).get(timeout=30) == 42
