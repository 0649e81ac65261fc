"""The three ways to send a task message; every enqueue in the project names one.

- ``after_commit``: published once the surrounding transaction commits, never if it rolls
  back. A process dying between the commit and the publish loses the message, so use it
  where a lost message is found again (a sweep, a retry button, the author's page).
- ``outbox``: must not be lost. A row is written in the caller's transaction and published
  on commit; the relay publishes rows a dead process left behind (tasking/outbox.py).
- ``chunked``: one job walking a large table, a small task per chunk of rows, paced by the
  queue's depth (tasking/generators.py).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tasking import generators
from tasking import outbox as outbox_rows
from tasking.models import GeneratorJob, OutboxMessage


def after_commit(task: Any, *args: Any, **options: Any) -> None:
    """Publish ``task(*args)`` with Celery's ``options`` (``expires``, ``queue``…) after commit.

    Outside a transaction it is published at once.
    """
    transaction.on_commit(lambda: task.apply_async(args, **options))


def outbox(task: Any, *args: Any, **options: Any) -> OutboxMessage:
    """Write ``task(*args)`` as an outbox row now; publish it after commit, or the relay will."""
    return outbox_rows.enqueue(task, *args, options=options or None)


def chunked(name: str, params: dict[str, Any] | None = None) -> GeneratorJob:
    """Start the registered chunked generator ``name``; its first step goes out on commit."""
    return generators.start(name, params)
