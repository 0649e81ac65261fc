"""Roll generation tasks: ids in, a call to a voterroll domain module, limits on the decorator."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from celery import Signature, Task, chain, chord, group
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections

from filestore.s3 import ObjectStorageError
from tasking import backoff, enqueue
from tasking.base import task
from tasking.results import DATABASE_DOWN
from voterroll import drawing, rolls, task_ids
from voterroll.models import RollRun, Station

logger = logging.getLogger(__name__)
Strategy = RollRun.Strategy
Result = TypeVar("Result")

# Outages that are not the run's fault: the database, or the object storage (unreachable,
# or answering 5xx after boto3's own retries). A missing file is no outage: it fails the run.
OUTAGES = (*DATABASE_DOWN, ObjectStorageError)
# The task is retried with jittered backoff (about 2, 4, 8 ... 60 s; ten tries ride out
# several minutes) instead of failing the run. Every step is idempotent, so a retry
# after a half-done attempt is safe.
RETRY_DURING_OUTAGES: dict[str, Any] = {
    "autoretry_for": OUTAGES,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}
# Seconds between a finalize callback's looks at a run whose last stations are still drawn.
FINALIZE_WAIT = 5


def _reason(exc: BaseException) -> str:
    """Say why a step failed; a time limit's exception carries no message of its own."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return "it took longer than its time limit"
    return str(exc) or type(exc).__name__


@contextmanager
def _failing_run(run_id: int, step: str, task: Task | None = None) -> Iterator[None]:
    """Fail the run, naming ``step`` and the reason, if the body raises.

    Not during an outage (RETRY_DURING_OUTAGES retries the task), unless the
    storage stays down through every retry of ``task``: then the run fails, naming it.
    """
    try:
        yield
    except DATABASE_DOWN:
        raise
    except ObjectStorageError as exc:
        if task is None or task.request.retries < (task.max_retries or 0):
            raise
        rolls.fail(run_id, f"{step}: the file storage stayed unreachable ({exc})")
        raise
    except Exception as exc:
        rolls.fail(run_id, f"{step}: {_reason(exc)}")
        raise


def _riding_out_outages(step: Callable[[], Result]) -> Result:
    """Run ``step``, retrying it in place during an outage (the database, the storage).

    For a task called inside another one (``celery.starmap`` calls render_station per
    station in its own task): Celery's retry re-raises there instead of sending the task
    again, which would end the whole starmap and leave the run to the sweeper. Same
    tries and backoff as RETRY_DURING_OUTAGES.
    """
    options = RETRY_DURING_OUTAGES
    retries = 0
    while True:
        try:
            return step()
        except OUTAGES:
            if retries >= options["max_retries"]:
                raise
            # The broken connection is closed; the next query opens a new one.
            close_old_connections()
            time.sleep(
                backoff.countdown(
                    retries, base=options["retry_backoff"], cap=options["retry_backoff_max"]
                )
            )
            retries += 1


def record_killed(exc: BaseException, run_id: int, *args, **kwargs) -> None:
    """Fail the run when one of its tasks was killed rather than ending by itself."""
    if isinstance(exc, TimeLimitExceeded):
        rolls.fail(run_id, f"A generation step went past its hard time limit ({exc}).")
    else:
        rolls.fail(run_id, "A generation step stopped its worker process on every try.")


@task(
    name="voterroll.render_station",
    **RETRY_DURING_OUTAGES,
    soft_time_limit=60,
    time_limit=90,
    on_killed=record_killed,
)
def render_station(run_id: int, station_id: int, **kwargs) -> dict | None:
    """Draw one station's book and door sign; return {file, pages}, never PDF bytes."""
    with _failing_run(run_id, f"Station {station_id} could not be drawn", render_station):
        if render_station.request.called_directly:
            return _riding_out_outages(lambda: drawing.draw_station(station_id))
        return drawing.draw_station(station_id)


@task(
    name="voterroll.render_batch",
    **RETRY_DURING_OUTAGES,
    soft_time_limit=300,
    time_limit=360,
    on_killed=record_killed,
)
def render_batch(run_id: int, station_ids: list[int], **kwargs) -> dict:
    """Draw a batch of stations in turn; return {stations, pages}, never PDF bytes."""
    with _failing_run(
        run_id, f"Stations {station_ids[0]}-{station_ids[-1]} could not be drawn", render_batch
    ):
        return drawing.draw_batch(run_id, station_ids)


@task(
    name="voterroll.render_center",
    **RETRY_DURING_OUTAGES,
    soft_time_limit=600,
    time_limit=660,
    on_killed=record_killed,
)
def render_center(run_id: int, center_id: int, **kwargs) -> dict:
    """Draw every station of one center in turn; return {center, pages}."""
    with _failing_run(run_id, f"Center {center_id} could not be drawn", render_center):
        return drawing.draw_center(run_id, center_id)


@task(
    name="voterroll.finalize_run",
    **RETRY_DURING_OUTAGES,
    soft_time_limit=600,
    time_limit=660,
    on_killed=record_killed,
)
def finalize_run(run_id: int, **kwargs) -> dict | None:
    """Write the center lists, metadata.json and zip of a rendered run."""
    with _failing_run(run_id, "Finalizing failed", finalize_run):
        run = rolls.finalize(run_id)
    if run is None and rolls.waiting_for_stations(run_id):
        # The chord fired early: a header task that ran twice (its worker died between
        # its result and its ack) voted twice. Wait for the last stations, as long as a
        # run may go without progress before the sweeper fails it.
        raise finalize_run.retry(
            countdown=FINALIZE_WAIT, max_retries=settings.ROLL_STALL_SECONDS // FINALIZE_WAIT
        )
    return {"pages": run.pages_count, "zip": run.zip_file} if run else None


def _fan_out(run: RollRun) -> Signature:
    """Return the canvas that renders a run's stations the way its strategy says, then finalizes."""
    finalize = finalize_run.si(run.id).set(task_id=task_ids.finalize_task_id(run.id))
    station_ids = list(
        Station.objects.filter(run_id=run.id)
        .order_by("center__code", "number")
        .values_list("id", flat=True)
    )
    if not station_ids:
        return finalize
    if run.strategy == Strategy.BATCHED:
        header = group(
            render_batch.si(run.id, ids).set(task_id=task_ids.batch_task_id(run.id, ids[0]))
            for ids in drawing.plan_batches(run.id)
        )
        return chord(header, finalize)
    if run.strategy == Strategy.PER_STATION:
        header = group(
            render_station.si(run.id, sid).set(task_id=task_ids.station_task_id(run.id, sid))
            for sid in station_ids
        )
        return chord(header, finalize)
    if run.strategy == Strategy.PER_CENTER:
        center_ids = sorted(
            set(Station.objects.filter(run_id=run.id).values_list("center_id", flat=True))
        )
        header = group(
            render_center.si(run.id, cid).set(task_id=task_ids.center_task_id(run.id, cid))
            for cid in center_ids
        )
        return chord(header, finalize)
    if run.strategy == Strategy.STARMAP:
        # celery.starmap calls render_station once per station, in order, in one task.
        starmap = render_station.starmap([(run.id, sid) for sid in station_ids]).set(
            queue="pdf", soft_time_limit=1800, time_limit=1860
        )  # type: ignore[call-arg]  # set() takes every execution option; the stubs name few
        return chain(starmap, finalize)
    raise ValueError(f"no fan-out for strategy {run.strategy!r}")


@task(
    name="voterroll.start_run",
    **RETRY_DURING_OUTAGES,
    soft_time_limit=1800,
    time_limit=1860,
    on_killed=record_killed,
)
def start_run(run_id: int, **kwargs) -> None:
    """Assign a run's stations, then render them the way its strategy says."""
    with _failing_run(run_id, "Starting the run failed", start_run):
        run = rolls.assign(run_id)
        if run is None or run.state != RollRun.State.RENDERING:
            return
        if run.strategy == Strategy.SINGLE:
            drawing.draw_all(run_id)
            rolls.finalize(run_id)
        elif rolls.mark_launched(run_id):
            # The stations are committed by now; after_commit still guards a caller's atomic.
            enqueue.after_commit(_fan_out(run))


@task(name="voterroll.sweep_runs")
def sweep_runs(**kwargs) -> dict:
    """Finalize runs whose chord callback was lost and fail runs that stopped moving."""
    return rolls.sweep()
