"""Keep a worker's database connection from one task to the next, as Django does per request.

Celery's Django fixup closes every connection before and after each task, so each task
opened a new PostgreSQL connection (a server process forked, authentication, the time
zone set): about 10 ms of a 50 ms station task. ``CELERY_DB_REUSE_MAX`` turns that off;
these handlers apply Django's own rules instead, around each task as around each
request: a connection older than ``CONN_MAX_AGE`` or left in error is closed, and
``conn_health_checks`` pings a kept one before its first use, so a restarted
PostgreSQL costs a reconnect, not a failed task.
"""

from __future__ import annotations

from typing import Any

from celery import signals
from django.db import close_old_connections


def _close_old_connections(**kwargs: Any) -> None:
    close_old_connections()


def connect() -> None:
    """Close unusable or expired connections around every task of this process."""
    for signal in (signals.task_prerun, signals.task_postrun):
        signal.connect(
            _close_old_connections,
            weak=False,
            dispatch_uid=f"tasking.connections.{signal.name}",  # type: ignore[attr-defined]
        )
