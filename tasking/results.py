"""The result backend: django-celery-results' database backend, riding out a database outage.

django-celery-results retries a failed result write only on ``InterfaceError`` (a
connection Django already knows is closed). While PostgreSQL is down or restarting, the
errors are ``OperationalError`` ("connection refused", "terminating connection due to
administrator command"), so the write fails at once: the task's result is lost and, for
a chord's header task, so is its vote, and the chord callback never fires. This backend
retries those too (with ``CELERY_RESULT_BACKEND_ALWAYS_RETRY`` and the backoff and limit
of ``CELERY_RESULT_BACKEND_*``), opening a new connection each time, and gives a chord
header's vote the same retries.

It also counts each header task once. django-celery-results decrements the chord's
counter on every completion, so a header message run twice fires the callback before
the last header task has finished; here a task's vote is recorded (``ChordVote``) in the
same transaction as the decrement, and a second one is ignored. A callback that takes no
results (an immutable signature, as a roll's ``finalize_run.si(run_id)``) is sent after
one query for the header's states, instead of every result being loaded and joined.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import maybe_signature, states
from celery.exceptions import ChordError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django_celery_results.backends.database import DatabaseBackend as _DatabaseBackend
from django_celery_results.backends.database import trigger_callback

# The django-stubs plugin reads these models without their module's names.
from django_celery_results.models import ChordCounter, TaskResult  # type: ignore[attr-defined]

from tasking.models import ChordVote, StoredResult

logger = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseBackend(_DatabaseBackend):  # type: ignore[misc]  # the base is untyped
    # Results written in one statement each (tasking.models.ResultWriter).
    TaskModel = StoredResult

    def exception_safe_to_retry(self, exc: Exception) -> bool:
        if isinstance(exc, DATABASE_DOWN):
            # The connection is broken; the next attempt must open a new one.
            connection.close()
            return True
        return bool(super().exception_safe_to_retry(exc))

    def on_chord_part_return(self, request: Any, state: str, result: Any, **kwargs: Any) -> None:
        # The vote is one transaction, so a failed attempt changed nothing and is safe to
        # repeat; one that committed before its connection dropped is not counted again.
        counter = self._ensure_retryable(self._count_vote, request)
        if counter is not None:
            # Retried on its own: a vote retried after its commit would find no counter
            # and send nothing, leaving the callback to a sweeper.
            self._ensure_retryable(self._send_callback, request, counter)

    def _count_vote(self, request: Any) -> ChordCounter | None:
        """Count one header task of the chord, once; return its counter after the last."""
        task_id, group_id = request.id, request.group
        if not task_id or not group_id:
            return None
        quote = connection.ops.quote_name
        votes, counters = quote(ChordVote._meta.db_table), quote(ChordCounter._meta.db_table)
        now = ChordVote._meta.get_field("counted_at").get_db_prep_value(timezone.now(), connection)
        # Two statements for a vote, with RETURNING (PostgreSQL, SQLite 3.35+, checked at
        # start by tasking.checks): the ORM's lock, get_or_create and save took six.
        insert_vote = (
            f"INSERT INTO {votes} (task_id, group_id, counted_at) "  # noqa: S608 - table names
            "VALUES (%s, %s, %s) ON CONFLICT (task_id) DO NOTHING RETURNING id"
        )
        count_down = (
            f"UPDATE {counters} SET count = count - 1 "  # noqa: S608 - table names
            "WHERE group_id = %s RETURNING count"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            # The vote's unique task id makes a second delivery of the task wait for the
            # first one's transaction, then insert nothing.
            cursor.execute(insert_vote, [task_id, group_id, now])
            if cursor.fetchone() is None:
                logger.warning(
                    "chord %s: %s already counted; not counting it again", group_id, task_id
                )
                return None
            # The counter's row lock orders the votes of this chord.
            cursor.execute(count_down, [group_id])
            remaining = cursor.fetchone()
            if remaining is None:
                logger.info("chord %s: no counter; its callback was already sent", group_id)
                transaction.set_rollback(True)  # and no vote left behind
                return None
            if remaining[0]:
                return None
            counter = ChordCounter.objects.get(group_id=group_id)
            counter.delete()
            ChordVote.objects.filter(group_id=group_id).delete()
        return counter

    def _send_callback(self, request: Any, counter: ChordCounter) -> None:
        header = counter.group_result(app=self.app)
        callback = maybe_signature(request.chord, app=self.app)
        if callback is None:
            return
        if callback.immutable:
            self._send_immutable_callback(callback, [result.id for result in header.results])
        elif header.ready():
            trigger_callback(app=self.app, callback=callback, group_result=header)

    def _send_immutable_callback(self, callback: Any, task_ids: list[str]) -> None:
        """Send a callback that takes no results, or fail it if a header task failed.

        It ignores the header's return values, so their states are read in one query
        rather than every result loaded and joined (3,196 of them for a million voters).
        """
        statuses = dict(
            TaskResult.objects.filter(task_id__in=task_ids).values_list("task_id", "status")
        )
        if any(statuses.get(task_id) not in states.READY_STATES for task_id in task_ids):
            logger.warning("chord callback %s not sent: a header task is not done", callback.id)
            return
        failed = [task_id for task_id in task_ids if statuses[task_id] != states.SUCCESS]
        if failed:
            try:  # chord_error_from_stack records the traceback being handled
                raise ChordError(f"Dependency {failed[0]} ended {statuses[failed[0]]}")
            except ChordError as exc:
                self.chord_error_from_stack(callback, exc)
            return
        try:
            callback.delay()
        except Exception as exc:
            logger.exception("chord callback %s could not be sent", callback.id)
            self.chord_error_from_stack(callback, ChordError(f"Callback error: {exc!r}"))
