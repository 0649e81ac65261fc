"""The result backend: django-celery-results' database backend, riding out a database outage.

django-celery-results retries a failed result write only on ``InterfaceError`` (a
connection Django already knows is closed). While PostgreSQL is down or restarting, the
errors are ``OperationalError`` ("connection refused", "terminating connection due to
administrator command"), so the write fails at once: the task's result is lost and, for
a chord's header task, so is its vote, and the chord callback never fires. This backend
retries those too (with ``CELERY_RESULT_BACKEND_ALWAYS_RETRY`` and the backoff and limit
of ``CELERY_RESULT_BACKEND_*``), opening a new connection each time, and gives a chord
header's vote the same retries.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connection
from django_celery_results.backends.database import DatabaseBackend as _DatabaseBackend

DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseBackend(_DatabaseBackend):
    def exception_safe_to_retry(self, exc: Exception) -> bool:
        if isinstance(exc, DATABASE_DOWN):
            # The connection is broken; the next attempt must open a new one.
            connection.close()
            return True
        return super().exception_safe_to_retry(exc)

    def on_chord_part_return(self, request, state, result, **kwargs) -> None:
        # The vote is one transaction (select_for_update, then save or delete), so a
        # failed attempt changed nothing and is safe to repeat.
        self._ensure_retryable(super().on_chord_part_return, request, state, result, **kwargs)
