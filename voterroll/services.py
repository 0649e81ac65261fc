"""Roll runs as named actions for views, admin actions and commands."""

from __future__ import annotations

from django.db import transaction

from tasking import enqueue
from voterroll import rolls, tasks
from voterroll.models import RollRun


def queue_run(*, strategy: str, center_ids: list[int] | None = None) -> RollRun:
    """Record a run and start it once the surrounding transaction commits."""
    with transaction.atomic():
        run = rolls.create_run(strategy=strategy, center_ids=center_ids)
        enqueue.after_commit(tasks.start_run, run.id)
    return run


def cancel_run(run_id: int) -> bool:
    """Cancel an active run; return whether it was active."""
    return rolls.cancel(run_id)
