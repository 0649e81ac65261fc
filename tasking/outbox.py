"""Transactional outbox: a task message that must not be lost is a row first.

``enqueue`` writes the row in the caller's transaction and publishes it on commit; the
row is marked sent once the broker confirms the publish. A process that dies between
commit and publish leaves the row unsent, and the relay (``tasking.relay_outbox`` on
beat) publishes it. Publishing is at least once: the task must be idempotent, and it
keeps the row's ``task_id`` on every attempt, so duplicates share one id.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tasking import queues
from tasking.models import OutboxMessage

logger = logging.getLogger(__name__)

# 500: a relay pass publishes at most this many rows, so one pass stays short.
RELAY_BATCH = 500
# 7 days: keep sent rows as long as task results (CELERY_RESULT_EXPIRES), for audits.
KEEP_SENT = timedelta(days=7)


def enqueue(
    task: Any, *args: Any, options: dict[str, Any] | None = None, **kwargs: Any
) -> OutboxMessage:
    """Write an outbox row for ``task(*args, **kwargs)`` now; publish it after commit."""
    message = write(task, args, kwargs, options)
    transaction.on_commit(lambda: publish(message), robust=True)
    return message


def write(
    task: Any,
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    *,
    task_id: str | None = None,
) -> OutboxMessage:
    """Write an outbox row without publishing it (the caller publishes, or the relay does)."""
    name = task if isinstance(task, str) else task.name
    extra = {"task_id": task_id} if task_id else {}
    return OutboxMessage.objects.create(
        task_name=name, args=list(args), kwargs=kwargs or {}, options=options or {}, **extra
    )


def publish(message: OutboxMessage) -> None:
    """Publish one row's message and mark it sent once the broker has confirmed it."""
    options = queues.publish_options(dict(message.options))
    current_app.send_task(
        message.task_name,
        args=message.args,
        kwargs=message.kwargs,
        task_id=str(message.task_id),
        **options,
    )
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1
    )


def relay(*, older_than: timedelta) -> int:
    """Publish rows left unsent for longer than ``older_than``; return how many."""
    cutoff = timezone.now() - older_than
    published = 0
    with transaction.atomic():
        # skip_locked: two relays (a duplicate beat) share the rows instead of both sending.
        stale = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, created_at__lte=cutoff)
            .order_by("created_at")[:RELAY_BATCH]
        )
        for message in stale:
            logger.warning(
                "relaying %s %s (unsent since %s)",
                message.task_name,
                message.task_id,
                message.created_at,
            )
            publish(message)
            published += 1
    OutboxMessage.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    return published
