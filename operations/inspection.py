"""Ask the broker and the workers how things stand: queue depths, who consumes what."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from celery import Celery

logger = logging.getLogger(__name__)


@dataclass
class QueueDepth:
    name: str
    messages: int | None
    consumers: int | None
    error: str = ""


def declared_queues(app: Celery) -> list[str]:
    """Name the queues the settings declare (CELERY_TASK_QUEUES)."""
    return sorted(q.name for q in app.conf.task_queues or ()) or [app.conf.task_default_queue]


def queue_depths(app: Celery) -> list[QueueDepth]:
    """Ask the broker how many messages wait in each declared queue.

    A passive declare works on every kombu transport: RabbitMQ answers with the ready
    count and its consumers; virtual transports (filesystem, Redis) count the messages
    and know nothing of consumers. A queue the broker lacks has no depth, not zero.
    """
    depths = []
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1)
            amqp = conn.transport.driver_type == "amqp"
            for name in declared_queues(app):
                # A failed passive declare closes the channel on AMQP: one channel per queue.
                channel: Any = conn.channel()  # kombu's StdChannel names no AMQP methods
                try:
                    ok = channel.queue_declare(queue=name, passive=True)
                    consumers = ok.consumer_count if amqp else None
                    depths.append(QueueDepth(name, ok.message_count, consumers))
                except Exception as exc:
                    depths.append(QueueDepth(name, None, None, f"{type(exc).__name__}: {exc}"))
                finally:
                    # The channel may be closed already by a failed declare.
                    with contextlib.suppress(Exception):
                        channel.close()
    except Exception as exc:
        logger.warning("could not ask the broker for queue depths: %s", exc)
        error = f"{type(exc).__name__}: {exc}"
        return [QueueDepth(name, None, None, error) for name in declared_queues(app)]
    return depths


def workers_and_queues(app: Celery, *, timeout: float) -> dict[str, list[str]]:
    """Map each worker that answers within ``timeout`` to the queues it consumes."""
    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    return {name: sorted(q["name"] for q in queues) for name, queues in sorted(replies.items())}


def worker_tasks(
    app: Celery, *, workers: list[str], timeout: float
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Ask the given workers for their active and reserved tasks.

    Knowing who will answer lets the broadcast return as soon as all have, instead of
    always waiting out the timeout.
    """
    if not workers:
        return {}
    inspect = app.control.inspect(destination=workers, timeout=timeout, limit=len(workers))
    # The replies are plain JSON dicts; celery-types names them _TaskInfo.
    active: dict[str, list[dict[str, Any]]] = inspect.active() or {}  # type: ignore[assignment]
    reserved: dict[str, list[dict[str, Any]]] = inspect.reserved() or {}  # type: ignore[assignment]
    return {
        name: {"active": active.get(name, []), "reserved": reserved.get(name, [])}
        for name in workers
    }
