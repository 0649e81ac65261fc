"""The project's task queues: their type, their exchange, and where poison messages go.

On RabbitMQ every queue is a quorum queue by default (``CELERY_QUEUE_TYPE``): it is
replicated to a majority of the cluster's nodes, so losing a node loses no message.
Its exchange is a topic exchange, which Celery's native delayed delivery needs to route
a countdown's message back to its queue (with a direct exchange the worker would hold
the message in memory until its ETA). A quorum queue counts each message's deliveries;
one returned more than ``CELERY_DELIVERY_LIMIT`` times, or rejected by a worker, is
dead-lettered to the ``dead`` queue, where the Tasks dashboard lists it and staff
requeue or drop it (operations/deadletters.py).
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from typing import Any

from celery import bootsteps, signals
from celery.app.amqp import AMQP, Queues
from kombu import Exchange, Queue
from kombu.transport.native_delayed_delivery import (
    CELERY_DELAYED_DELIVERY_EXCHANGE,
    declare_native_delayed_delivery_exchanges_and_queues,
)

QUEUE_TYPES = ("quorum", "classic")
# The exchange every project queue is bound to. Not Celery's default name ("default",
# a direct exchange on earlier releases): an exchange's type cannot change in place.
TASK_EXCHANGE = "tasks"
DEAD_EXCHANGE = "dead"
DEAD_QUEUE = "dead"


def task_exchange(broker_scheme: str) -> Exchange:
    """Return the exchange task queues are bound to: topic on RabbitMQ, direct elsewhere.

    Redis has no native delayed delivery; a direct exchange keeps it on its shortest path.
    """
    kind = "topic" if broker_scheme.startswith(("amqp", "pyamqp")) else "direct"
    return Exchange(TASK_EXCHANGE, type=kind, durable=True)


def queue_arguments(queue_type: str, *, delivery_limit: int) -> dict[str, Any] | None:
    """Return the declare arguments of a project queue of ``queue_type``."""
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"queue type {queue_type!r} must be one of {', '.join(QUEUE_TYPES)}")
    if queue_type == "classic":
        return None
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_EXCHANGE,
        # At-least-once dead-lettering: the message leaves the queue only once the dead
        # queue has confirmed it (it needs reject-publish overflow; no length limit is set).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def task_queues(
    names: tuple[str, ...], *, queue_type: str, broker_scheme: str, delivery_limit: int
) -> list[Queue]:
    """Declare the named queues, each routed by its own name on the task exchange."""
    return [
        task_queue(
            name,
            queue_type=queue_type,
            broker_scheme=broker_scheme,
            delivery_limit=delivery_limit,
        )
        for name in names
    ]


def task_queue(name: str, *, queue_type: str, broker_scheme: str, delivery_limit: int) -> Queue:
    """Declare one queue, routed by its own name on the task exchange.

    A quorum queue is also bound to native delayed delivery's exchange, so declaring it
    (as every publish does) is enough for its countdowns to come back to it; the worker
    binds only the queues it consumes at start, and a message the delivery exchange
    cannot route is dropped.
    """
    return TaskQueue(
        name,
        exchange=task_exchange(broker_scheme),
        routing_key=name,
        queue_arguments=queue_arguments(queue_type, delivery_limit=delivery_limit),
    )


class TaskQueue(Queue):
    """A queue that, if quorum, binds itself to native delayed delivery's exchange too."""

    def declare(self, nowait: bool = False, channel: Any = None) -> str | None:
        name = super().declare(nowait=nowait, channel=channel)
        if (self.queue_arguments or {}).get("x-queue-type") == "quorum" and not getattr(
            self, "no_declare", False
        ):
            channel = channel or self.channel
            delivery = Exchange(CELERY_DELAYED_DELIVERY_EXCHANGE, type="topic", durable=True)
            delivery.declare(nowait=nowait, channel=channel)
            self.bind_to(
                delivery.name, routing_key=f"#.{self.routing_key}", nowait=nowait, channel=channel
            )
        return name


class ProjectQueues(Queues):
    """Celery's queue map, whose queues created on demand are shaped like the project's."""

    def new_missing(self, name: str) -> Queue:
        from django.conf import settings

        return task_queue(
            name,
            queue_type=settings.CELERY_QUEUE_TYPE,
            broker_scheme=settings.BROKER_SCHEME,
            delivery_limit=settings.CELERY_DELIVERY_LIMIT,
        )


class ProjectAMQP(AMQP):
    """Celery's AMQP layer with ``ProjectQueues`` (``Celery(amqp=...)``)."""

    queues_cls = ProjectQueues


def dead_queue() -> Queue:
    """The queue dead letters land in: quorum, so a node's loss loses none of them."""
    return Queue(
        DEAD_QUEUE,
        exchange=Exchange(DEAD_EXCHANGE, type="fanout", durable=True),
        routing_key=DEAD_QUEUE,
        queue_arguments={"x-queue-type": "quorum"},
    )


def uses_dead_letters(queues: Any) -> bool:
    """Whether any of ``queues`` dead-letters to the ``dead`` exchange."""
    return any(
        (queue.queue_arguments or {}).get("x-dead-letter-exchange") == DEAD_EXCHANGE
        for queue in queues
    )


class DeclareDeadLetters(bootsteps.StartStopStep):
    """Declare the dead-letter exchange and queue each time the worker connects.

    Without them a quorum queue would drop the messages it dead-letters.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def include_if(self, c: Any) -> bool:
        return c.app.conf.broker_url.startswith(("amqp", "pyamqp")) and uses_dead_letters(
            c.app.amqp.queues.values()
        )

    def start(self, c: Any) -> None:
        dead_queue()(c.connection.default_channel).declare()


def publish_options(options: dict[str, Any]) -> dict[str, Any]:
    """Adjust a publish's options for RabbitMQ's quorum queues; returns them.

    Native delayed delivery counts whole seconds and refuses a countdown of 0, so a
    countdown under one second becomes one second. A quorum queue without a majority
    never confirms, so a publish waits at most CELERY_PUBLISH_CONFIRM_TIMEOUT.
    """
    from django.conf import settings

    countdown = options.get("countdown")
    if countdown is not None and 0 < countdown < 1:
        options["countdown"] = 1
    routing_key = options.get("routing_key")
    delivered_by = (TASK_EXCHANGE, CELERY_DELAYED_DELIVERY_EXCHANGE)
    if options.get("queue") is None and options.get("exchange") in delivered_by and routing_key:
        # A retry names the exchange and routing key it was delivered by (the delay
        # ladder's, after a countdown), not its queue; the router would then add the
        # default queue, and native delayed delivery routes by the queue's key: the retry
        # of a task sent to another queue than its route's would go to "default". Every
        # project queue is routed by its name, so the key (less a delay prefix) names it.
        name = _DELAY_PREFIX.sub("", routing_key)
        options.update(queue=name, exchange=TASK_EXCHANGE, routing_key=name)
    if settings.BROKER_SCHEME.startswith(("amqp", "pyamqp")):
        options.setdefault("confirm_timeout", settings.CELERY_PUBLISH_CONFIRM_TIMEOUT)
        delayed = options.get("countdown") or options.get("eta")
        if delayed and settings.CELERY_QUEUE_TYPE == "quorum":
            declare_delay_ladder()
    return options


_ladder_declared = False


def declare_delay_ladder() -> None:
    """Declare native delayed delivery's exchanges and queues, once per process.

    Workers declare them as they start. A process that publishes a countdown before any
    worker has started on the broker (a web process on a new vhost) would otherwise have
    the publish refused with NOT_FOUND. Declaring is idempotent; if the broker cannot be
    reached the publish that follows fails, or goes to the outbox, as any other would.
    """
    global _ladder_declared
    if _ladder_declared:
        return
    from celery import current_app
    from django.conf import settings

    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            declare_native_delayed_delivery_exchanges_and_queues(conn, settings.CELERY_QUEUE_TYPE)
    except Exception as exc:
        logger.warning("could not declare the delayed delivery exchanges: %s", exc)
        return
    _ladder_declared = True


def connect(app: Any) -> None:
    """Add the dead-letter step to ``app``'s workers and strip broker-side expiry."""
    app.steps["consumer"].add(DeclareDeadLetters)
    signals.before_task_publish.connect(_expire_in_worker, weak=False)


def _expire_in_worker(
    sender: Any = None, properties: dict[str, Any] | None = None, **_: Any
) -> None:
    """Leave a task's ``expires`` to the worker instead of a per-message TTL.

    Celery turns ``expires`` into the message's TTL too; a quorum queue dead-letters an
    expired message like a poison one, and every expired reminder and heartbeat would
    land in ``dead``. The worker still drops an expired task unrun (REVOKED) on receipt.
    """
    if properties is not None:
        properties.pop("expiration", None)


# The bits native delayed delivery puts before a delayed message's routing key.
logger = logging.getLogger(__name__)
_DELAY_PREFIX = re.compile(r"^(?:[01]\.){28}")

# Where a queue's messages wait while the queue is deleted and declared again.
HOLDING_SUFFIX = ".redeclaring"


def redeclare(connection: Any, queues: list[Queue], *, log: Any = print) -> dict[str, int]:
    """Declare each queue with its arguments, moving its messages if its type changed.

    A queue's type (and its delivery limit) cannot change in place: RabbitMQ refuses the
    declare. Such a queue's messages are moved to a classic holding queue, the queue is
    deleted and declared anew, and the messages are moved back. Each move acknowledges a
    message only after the broker confirmed its copy, so a crash leaves a message twice
    (tasks are idempotent), never nowhere; run again, the command finishes the move from
    the holding queue. Returns the messages moved per queue.
    """
    moved: dict[str, int] = {}
    for queue in queues:
        holding = Queue(f"{queue.name}{HOLDING_SUFFIX}", exchange=None, durable=True)
        if _declares(connection, queue) and not _exists(connection, holding.name):
            log(f"{queue.name}: already as configured")
            continue
        count = 0
        if not _declares(connection, queue):
            holding(connection.default_channel).declare()
            count = _move(connection, queue.name, holding.name)
            connection.default_channel.queue_delete(queue.name)
            log(f"{queue.name}: {count} messages held while the queue is declared anew")
            queue(connection.default_channel).declare()
        moved[queue.name] = _move(connection, holding.name, queue.name)
        connection.default_channel.queue_delete(holding.name, if_empty=True)
        log(f"{queue.name}: declared as configured, {moved[queue.name]} messages moved back")
    return moved


def _declares(connection: Any, queue: Queue) -> bool:
    """Whether ``queue`` can be declared as configured (False if it exists otherwise)."""
    channel = connection.channel()
    try:
        queue(channel).declare()
        return True
    except connection.channel_errors as exc:
        if getattr(exc, "code", None) != 406:  # PRECONDITION_FAILED: inequivalent arguments
            raise
        return False
    finally:
        with suppress(Exception):
            channel.close()


def _exists(connection: Any, name: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(queue=name, passive=True)
        return True
    except connection.channel_errors:
        return False
    finally:
        with suppress(Exception):
            channel.close()


def _move(connection: Any, source: str, target: str) -> int:
    """Move every message of ``source`` to ``target``, each acked once its copy is confirmed."""
    channel = connection.channel()
    producer = connection.Producer(channel)
    moved = 0
    try:
        while (raw := channel.basic_get(source, no_ack=False)) is not None:
            message = channel.message_to_python(raw)
            properties = {
                k: v
                for k, v in message.properties.items()
                if k in {"correlation_id", "reply_to", "priority", "delivery_mode", "expiration"}
            }
            producer.publish(
                message.body,
                exchange="",
                routing_key=target,
                headers=message.headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                **properties,
            )
            message.ack()
            moved += 1
    finally:
        with suppress(Exception):
            channel.close()
    return moved
