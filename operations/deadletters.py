"""Dead letters: task messages a quorum queue gave up on, for staff to requeue or drop.

A project queue dead-letters a message that went over its delivery limit or that a worker
rejected (an unknown task, a message it cannot decode) to the ``dead`` queue
(tasking/queues.py). RabbitMQ has no way to browse a queue, so listing takes messages
without acknowledging them and closes the channel, which puts every one back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from celery import Celery

from tasking.queues import DEAD_QUEUE, dead_queue

logger = logging.getLogger(__name__)

# 50: a page's worth; the dashboard says when more are waiting.
LIST_LIMIT = 50
# Scanned at most per requeue or drop, so one click never holds the whole queue.
SCAN_LIMIT = 1000


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered task message, as the dashboard shows it."""

    task_id: str
    task_name: str
    queue: str
    reason: str
    deliveries: int
    args: str


def _death(headers: dict[str, Any]) -> dict[str, Any]:
    """Return the x-death entry of the project queue the message died in.

    Messages with a countdown carry entries for the delay queues they passed (reason
    "expired") too; the one that matters is the last that is not a delay hop.
    """
    for entry in headers.get("x-death") or []:
        if not str(entry.get("queue", "")).startswith("celery_delayed_"):
            return cast(dict[str, Any], entry)
    return {}


def _describe(message: Any) -> DeadLetter:
    headers = message.headers or {}
    death = _death(headers)
    delivery_count = headers.get("x-delivery-count")
    return DeadLetter(
        task_id=str(headers.get("id") or message.properties.get("correlation_id") or ""),
        task_name=str(headers.get("task") or "?"),
        queue=str(death.get("queue") or "?"),
        reason=str(death.get("reason") or "?"),
        deliveries=int(delivery_count if delivery_count is not None else death.get("count", 1)),
        args=str(headers.get("argsrepr") or ""),
    )


@contextlib.contextmanager
def _dead_messages(app: Celery, limit: int) -> Iterator[list[Any]]:
    """Yield up to ``limit`` unacknowledged dead messages; the unhandled ones go back."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        channel: Any = conn.channel()
        try:
            queue = conn.SimpleQueue(cast(Any, dead_queue()), channel=channel, no_ack=False)
            messages = []
            for _ in range(limit):
                try:
                    messages.append(queue.get(block=False))
                except queue.Empty:
                    break
            yield messages
        finally:
            # Closing returns every message neither acked nor rejected to the queue.
            with contextlib.suppress(Exception):
                channel.close()


def waiting(app: Celery) -> int | None:
    """Count the dead letters, or None if the broker has no dead queue (Redis, classic)."""
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1)
            if conn.transport.driver_type != "amqp":
                return None
            channel: Any = conn.channel()
            try:
                count: int = channel.queue_declare(queue=DEAD_QUEUE, passive=True).message_count
                return count
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
    except Exception as exc:
        logger.info("no dead-letter queue to count: %s", exc)
        return None


def listing(app: Celery, *, limit: int = LIST_LIMIT) -> list[DeadLetter]:
    """Describe up to ``limit`` dead letters, oldest first, leaving them in the queue."""
    if not waiting(app):
        return []
    with _dead_messages(app, limit) as messages:
        return [_describe(message) for message in messages]


def requeue(app: Celery, task_id: str) -> bool:
    """Publish the dead letter of ``task_id`` back to its queue, then remove it from dead.

    The broker confirms the republished copy before the dead one is acknowledged, so a
    crash in between leaves two copies of an idempotent task, never none.
    """
    with _dead_messages(app, SCAN_LIMIT) as messages:
        for message in messages:
            letter = _describe(message)
            if letter.task_id != task_id:
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            with app.producer_or_acquire() as producer:
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=letter.queue,
                    headers=headers,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    correlation_id=message.properties.get("correlation_id"),
                    reply_to=message.properties.get("reply_to"),
                    delivery_mode=2,
                    retry=True,
                )
            message.ack()
            logger.warning("requeued dead letter %s to %s", task_id, letter.queue)
            return True
    return False


def drop(app: Celery, task_id: str) -> bool:
    """Remove the dead letter of ``task_id`` for good."""
    with _dead_messages(app, SCAN_LIMIT) as messages:
        for message in messages:
            if _describe(message).task_id == task_id:
                message.ack()
                logger.warning("dropped dead letter %s", task_id)
                return True
    return False
