"""Chunked task generators: walk a large table a batch at a time, one small task per chunk.

A job row keeps the progress (rows done, last id, state) in plain JSON-friendly fields.
Each step selects the next batch of ids by keyset pagination (``pk > last_id``), writes
one outbox row per chunk and the next step's row in the same transaction as the
progress, so a crash either loses the whole step (it is redone) or none of it (the
outbox relay publishes what the dead process did not). A step pauses while the target
queue is at least ``max_queue_depth`` deep, so the queue never holds more than that plus
one batch. Steps of one job hold a lock on it, and each step message carries the step
number it expects, so a duplicate message never runs a step twice. Only one batch of ids
is in memory at a time, whatever the table size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tasking import locks, outbox
from tasking.models import GeneratorJob

logger = logging.getLogger(__name__)

STEP_TASK = "tasking.advance_generator"


# Failure reasons a job keeps for its page; past these, failures are only counted.
FAILURES_KEPT = 5


@dataclass(frozen=True)
class ChunkedGenerator:
    """A named way to turn rows into tasks: ``task(ids, **job.params)`` per chunk of ids.

    Each chunk task also gets ``generator_job_id``, and should report how its rows ended
    with ``record_outcome`` (queued is not done: a send can still fail).
    """

    name: str
    rows: Callable[[dict[str, Any]], QuerySet[Any]]
    task: str
    # 100 ids per task: a task finishes in seconds, so a crash repeats little work.
    chunk_size: int = 100
    # 1000 rows per step: ten tasks per step, one short transaction each.
    batch_size: int = 1000
    max_queue_depth: int | None = None
    # Seconds a paused step waits before looking at the queue again.
    pause: float = 2.0
    # Queue of the step messages themselves (default: the step task's route).
    step_queue: str | None = None
    # Queue of the chunk tasks (default: the chunk task's route).
    queue: str | None = None

    @property
    def target_queue(self) -> str:
        """Return the queue the chunk tasks go to."""
        if self.queue:
            return self.queue
        route = current_app.amqp.router.route({}, self.task)
        return str(route["queue"].name)

    @property
    def depth_limit(self) -> int:
        if self.max_queue_depth is not None:
            return self.max_queue_depth
        return settings.GENERATOR_MAX_QUEUE_DEPTH


_registry: dict[str, ChunkedGenerator] = {}


def register(generator: ChunkedGenerator) -> ChunkedGenerator:
    """Make a generator known to ``start`` and to the workers (call at import time)."""
    _registry[generator.name] = generator
    return generator


def get(name: str) -> ChunkedGenerator:
    """Return the registered generator of that name."""
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(
            f"no chunked generator named {name!r}; register it in a module the workers import"
        ) from None


def start(name: str, params: dict[str, Any] | None = None) -> GeneratorJob:
    """Create a job for the named generator; its first step is published on commit."""
    generator = get(name)
    params = params or {}
    with transaction.atomic():
        job = GeneratorJob.objects.create(
            name=name, params=params, rows_total=generator.rows(params).count()
        )
        _enqueue_step(generator, job, on_commit=True)
    return job


def _enqueue_step(
    generator: ChunkedGenerator, job: GeneratorJob, *, on_commit: bool, countdown: float = 0
) -> Any:
    options: dict[str, Any] = {"countdown": countdown} if countdown else {}
    if generator.step_queue:
        options["queue"] = generator.step_queue
    if on_commit:
        return outbox.enqueue(STEP_TASK, job.pk, job.step, options=options)
    return outbox.write(STEP_TASK, [job.pk, job.step], {}, options)


def queue_depth(queue: str) -> int:
    """Ask the broker how many messages wait in ``queue`` (0 if it does not exist yet)."""
    with current_app.connection_for_read() as connection:
        try:
            channel: Any = connection.default_channel  # StdChannel names no queue_declare
            return int(channel.queue_declare(queue=queue, passive=True)[1])
        except connection.channel_errors:
            return 0


def advance(*, job_id: int, step: int) -> None:
    """Run one step of a job: pause while the queue is deep, else enqueue one batch.

    Raises ``locks.LockBusy`` while another step of the same job runs.
    """
    lock = locks.Lock(locks.lock_key("generator", job_id))
    if not lock.acquire():
        raise locks.LockBusy(lock.key)
    lock.start_heartbeat()
    try:
        next_step = _advance_locked(job_id, step)
    finally:
        lock.release()
    # Published after the lock is free, so the next step never finds it busy. If this
    # process dies first, the relay publishes the committed row.
    if next_step is not None:
        outbox.publish(next_step)


def _advance_locked(job_id: int, step: int) -> Any:
    job = GeneratorJob.objects.get(pk=job_id)
    if job.step != step or job.state in (GeneratorJob.State.DONE, GeneratorJob.State.FAILED):
        logger.info(
            "job %s is at step %s (%s); dropping step %s", job.pk, job.step, job.state, step
        )
        return None
    generator = get(job.name)
    target = generator.target_queue
    depth = queue_depth(target)
    if depth >= generator.depth_limit:
        logger.info("job %s waits: %s holds %s messages", job.pk, target, depth)
        with transaction.atomic():
            job.state = GeneratorJob.State.WAITING
            job.save(update_fields=["state", "updated_at"])
            return _enqueue_step(generator, job, on_commit=False, countdown=generator.pause)

    ids = list(
        generator.rows(job.params)
        .filter(pk__gt=job.last_id)
        .order_by("pk")
        .values_list("pk", flat=True)[: generator.batch_size]
    )
    chunks = [ids[i : i + generator.chunk_size] for i in range(0, len(ids), generator.chunk_size)]
    with transaction.atomic():
        kwargs = {**job.params, "generator_job_id": job.pk}
        messages = [
            outbox.write(generator.task, [chunk], kwargs, {"queue": target}) for chunk in chunks
        ]
        job.step += 1
        job.rows_done += len(ids)
        job.last_id = ids[-1] if ids else job.last_id
        job.max_queue_depth = max(job.max_queue_depth, depth + len(chunks))
        finished = len(ids) < generator.batch_size
        job.state = GeneratorJob.State.DONE if finished else GeneratorJob.State.RUNNING
        job.finished_at = timezone.now() if finished else None
        job.save()
        next_step = None if finished else _enqueue_step(generator, job, on_commit=False)
    for message in messages:
        outbox.publish(message)
    return next_step


def record_outcome(*, job_id: int, succeeded: int, failures: list[str]) -> None:
    """Add a chunk's ended rows to its job: how many succeeded, and why the others failed."""
    with transaction.atomic():
        job = GeneratorJob.objects.select_for_update().get(pk=job_id)
        job.rows_succeeded += succeeded
        job.rows_failed += len(failures)
        room = FAILURES_KEPT - len(job.failures)
        if room > 0:
            job.failures = [*job.failures, *failures[:room]]
        job.save(update_fields=["rows_succeeded", "rows_failed", "failures", "updated_at"])


def running_jobs() -> list[dict[str, Any]]:
    """Progress rows of the generator jobs not yet finished, for the Tasks dashboard."""
    from django.urls import reverse

    unfinished = GeneratorJob.objects.exclude(
        state__in=[GeneratorJob.State.DONE, GeneratorJob.State.FAILED]
    )
    return [
        {
            "label": f"{job.name} #{job.pk}",
            "done": job.rows_done,
            "total": job.rows_total or 0,
            "state": job.state,
            "url": reverse("admin:tasking_generatorjob_change", args=[job.pk]),
        }
        for job in unfinished.order_by("created_at")
    ]
