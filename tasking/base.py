"""The project's task conventions: every app declares its tasks with ``@task``."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from amqp.exceptions import AMQPError
from billiard.einfo import ExceptionInfo
from celery import shared_task, signals
from celery.contrib.django.task import DjangoTask
from celery.exceptions import Retry, TimeLimitExceeded, WorkerLostError
from celery.result import AsyncResult
from celery.utils import uuid
from kombu import Queue
from kombu.exceptions import OperationalError

from tasking import dedup, locks, markers, outbox, queues, ratelimit

logger = logging.getLogger(__name__)


# Failures the task's own code never sees: the worker's main process records them after
# killing the child (hard time limit) or finding it dead (every retry used up).
KILLED = (TimeLimitExceeded, WorkerLostError)


class ProjectTask(DjangoTask[Any, Any]):
    """Base class of every project task: Django-aware (``delay_on_commit``), logged."""

    # Seconds before a task whose worker process died runs again (task_retry_on_worker_lost):
    # long enough for the OOM killer's neighbour to finish, short enough to go unnoticed.
    default_retry_delay = 5

    # Set by ``task(on_killed=...)``: records a killed run in the domain (a post failed).
    on_killed: Callable[..., None] | None = None

    def on_retry(
        self,
        exc: Exception | None,
        task_id: str,
        args: Any,
        kwargs: Any,
        einfo: ExceptionInfo | None,
    ) -> None:
        if exc is None:  # rescheduled by a lock or rate limit, not by an error
            return
        logger.warning("retrying after %s: %s", type(exc).__name__, exc)

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo | None
    ) -> None:
        logger.error("failed with %s: %s", type(exc).__name__, exc)
        if isinstance(exc, KILLED) and self.on_killed is not None:
            self.on_killed(exc, *(args or ()), **(kwargs or {}))

    # Set by ``task(deduplicate=...)``; see tasking/dedup.py.
    deduplicate: dedup.Deduplicate | None = None

    def apply_async(  # type: ignore[override]  # celery-types spells out every option
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        **options: Any,
    ) -> AsyncResult[Any]:
        """Publish, or with ``deduplicate`` return the message already waiting for the key."""
        options = queues.publish_options(options)
        task_id = task_id or uuid()
        if self.deduplicate is not None:
            key = dedup.marker_key(self.name, key_values(self, self.deduplicate.key, args, kwargs))
            waiting = dedup.mark_waiting(key, task_id, self.deduplicate.ttl)
            if waiting is not None:
                logger.info("%s already waiting as %s; not publishing again", key, waiting)
                return self.AsyncResult(waiting)
        try:
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        except PUBLISH_ERRORS as exc:
            kept = outbox_options(options)
            if kept is None:
                raise
            # Celery already retried the publish on every broker URL: keep the message
            # as an outbox row, which the relay publishes once the broker is back.
            outbox.write(self.name, args or (), kwargs or {}, kept, task_id=task_id)
            logger.error(
                "could not publish %s %s (%s: %s); kept in the outbox for the relay",
                self.name,
                task_id,
                type(exc).__name__,
                exc,
            )
            return self.AsyncResult(task_id)

    def reschedule(self, countdown: float, reason: str) -> Retry:
        """Publish this run again after ``countdown`` seconds without using up a retry."""
        signature = self.signature_from_request(countdown=countdown)
        signature.apply_async()
        # Retry takes seconds as any real number; celery-types names only numbers.Real.
        return Retry(message=reason, when=cast(Any, countdown), sig=signature)


# What a publish raises once Celery's own retries are spent: no broker reachable, a
# confirm that timed out (failover, no quorum) or a nack (a queue refusing messages).
PUBLISH_ERRORS = (OperationalError, OSError, AMQPError)
# Options an outbox row can carry; a message with a chord, a group or callbacks cannot
# be kept whole, so its publish error is raised instead.
_KEPT_OPTIONS = {
    "queue",
    "routing_key",
    "countdown",
    "eta",
    "expires",
    "priority",
    "retries",
    "time_limit",
    "soft_time_limit",
    "root_id",
    "parent_id",
    "shadow",
}
_UNKEPT_OPTIONS = {"link", "link_error", "chord", "group_id", "chain"}


def outbox_options(options: dict[str, Any]) -> dict[str, Any] | None:
    """Return ``options`` as an outbox row keeps them, or None if they cannot be kept."""
    if any(options.get(name) for name in _UNKEPT_OPTIONS):
        return None
    kept: dict[str, Any] = {}
    for name in _KEPT_OPTIONS:
        value = options.get(name)
        if value is None:
            continue
        if isinstance(value, Queue):
            value = value.name
        elif isinstance(value, datetime):
            value = value.isoformat()
        kept[name] = value
    return kept


@signals.task_failure.connect
def _record_lost_worker(
    sender: Any = None,
    task_id: str = "",
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: ExceptionInfo | None = None,
    **_: Any,
) -> None:
    """Run ``on_failure`` for a task whose child died once retries ran out.

    Celery calls ``on_failure`` itself after a hard time limit, but for a lost worker it
    only marks the result failed and sends this signal, in the worker's main process.
    """
    if isinstance(exception, WorkerLostError) and isinstance(sender, ProjectTask):
        sender.on_failure(exception, task_id, args, kwargs, einfo)


def key_values(task: Any, names: tuple[str, ...], args: Any, kwargs: Any) -> tuple[object, ...]:
    """Return the values of the named arguments of one call of ``task``."""
    signature = inspect.signature(task.run)
    bound = signature.bind_partial(*(args or ()), **(kwargs or {}))
    values = dict(bound.arguments)
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            values.update(values.pop(parameter.name, {}))
    return tuple(values.get(name) for name in names)


def task(
    *,
    name: str,
    single_instance: locks.SingleInstance | None = None,
    deduplicate: dedup.Deduplicate | None = None,
    cluster_rate_limit: str | None = None,
    run_once: bool = False,
    on_killed: Callable[..., None] | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], ProjectTask]:
    """Declare a project task with an explicit name and options on the decorator.

    The function must accept ``**kwargs``: during a rolling deploy a message sent by
    the next release may carry an argument this release does not know yet, and the
    task must still run rather than crash with a TypeError.

    ``single_instance`` (tasking/locks.py), ``deduplicate`` (tasking/dedup.py) and
    ``cluster_rate_limit`` ("50/15m", tasking/ratelimit.py) add what Celery lacks.
    ``run_once`` runs messages that share a task id (an outbox row published twice, a
    redelivery after success) once: the id is marked done after a successful run.

    ``on_killed(exc, *args, **kwargs)`` is called, in the worker's main process, when a run
    ends without its code seeing why: killed at the hard time limit (``TimeLimitExceeded``)
    or its process died on every delivery (``WorkerLostError``, after ``max_retries``).
    """
    rate = ratelimit.parse_rate(cluster_rate_limit) if cluster_rate_limit else None
    if "." not in name:
        raise ValueError(
            f"task name {name!r} must be '<app>.<verb>', e.g. 'posts.generate_thumbnails'"
        )

    def decorate(fn: Callable[..., Any]) -> ProjectTask:
        parameters = inspect.signature(fn).parameters.values()
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            raise TypeError(
                f"task {name!r} ({fn.__module__}.{fn.__qualname__}) must accept **kwargs, "
                "so messages from another release with extra arguments still run"
            )
        if on_killed is not None:
            # A staticmethod, or the task class would bind it and pass itself first.
            options["on_killed"] = staticmethod(on_killed)
        if not (single_instance or deduplicate or rate or run_once):
            return _declare(fn, name=name, **options)
        if run_once:
            fn = _once_per_message(fn, name)
        bound = bool(options.get("bind"))
        guarded = _guard(fn, name, single_instance, deduplicate, rate, bound=bound)
        return _declare(guarded, name=name, deduplicate=deduplicate, **options)

    return decorate


def _declare(fn: Callable[..., Any], *, name: str, **options: Any) -> ProjectTask:
    """Register ``fn`` as a shared task of class ProjectTask."""
    declare: Any = shared_task  # celery-types cannot follow shared_task's base= overloads
    return cast(ProjectTask, declare(name=name, base=ProjectTask, **options)(fn))


def _guard(
    fn: Callable[..., Any],
    name: str,
    single_instance: locks.SingleInstance | None,
    deduplicate: dedup.Deduplicate | None,
    rate: ratelimit.Rate | None,
    *,
    bound: bool,
) -> Callable[..., Any]:
    """Wrap ``fn`` so each run drops its dedup marker, waits for its rate slot, then locks."""
    from celery import current_task

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        this = current_task._get_current_object()  # type: ignore[attr-defined]  # a Proxy
        call_args = args[1:] if bound else args
        if deduplicate is not None:
            values = key_values(this, deduplicate.key, call_args, kwargs)
            dedup.release(dedup.marker_key(name, values), this.request.id)
        if rate is not None:
            wait = ratelimit.try_start(name, rate)
            if wait:
                raise this.reschedule(wait, f"over the cluster rate limit {rate}")
        if single_instance is None:
            return fn(*args, **kwargs)
        values = key_values(this, single_instance.key, call_args, kwargs)
        lock = locks.Lock(locks.lock_key(name, *values), ttl=single_instance.ttl)
        if not lock.acquire():
            if single_instance.when_busy == "retry":
                raise this.reschedule(single_instance.retry_after, f"{lock.key} is busy")
            logger.info("skipped: %s is held by another run", lock.key)
            return None
        lock.start_heartbeat()
        try:
            return fn(*args, **kwargs)
        finally:
            lock.release()

    return run


# 7 days: as long as task results are kept (CELERY_RESULT_EXPIRES); a message id is
# never republished later than that.
RUN_ONCE_TTL = 7 * 24 * 3600


def _once_per_message(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Wrap ``fn`` so a task id that already succeeded is not run again."""
    from celery import current_task

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        this = current_task._get_current_object()  # type: ignore[attr-defined]  # a Proxy
        done = markers.marker_key("done", name, this.request.id)
        if markers.get(done) is not None:
            logger.info("message %s already ran; not running it again", this.request.id)
            return None
        # Two copies of one message arriving together: the second waits, then sees done.
        with_lock = locks.Lock(locks.lock_key("running", name, this.request.id))
        if not with_lock.acquire():
            raise this.reschedule(1.0, f"message {this.request.id} is running elsewhere")
        with_lock.start_heartbeat()
        try:
            if markers.get(done) is not None:
                return None
            result = fn(*args, **kwargs)
            markers.put(done, "done", RUN_ONCE_TTL)
            return result
        finally:
            with_lock.release()

    return run
