"""Tasks of the task-writing layer: the outbox relay and the generator step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from tasking import generators, locks, outbox
from tasking.base import ProjectTask, task


@task(name="tasking.relay_outbox", acks_late=True)
def relay_outbox(older_than: float | None = None, **kwargs: Any) -> int:
    """Publish outbox rows left unsent for longer than OUTBOX_RELAY_AFTER seconds."""
    seconds = settings.OUTBOX_RELAY_AFTER if older_than is None else older_than
    return outbox.relay(older_than=timedelta(seconds=seconds))


@task(name="tasking.advance_generator", bind=True, acks_late=True)
def advance_generator(self: ProjectTask, job_id: int, step: int, **kwargs: Any) -> None:
    """Run one step of a chunked generator job."""
    try:
        generators.advance(job_id=job_id, step=step)
    except locks.LockBusy as busy:
        # 1 s: a step holds the lock for one batch's transaction, well under a second.
        raise self.reschedule(1.0, str(busy)) from None
