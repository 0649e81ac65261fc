"""A roll run's state machine: create, assign, finalize, cancel, sweep.

Every step is a plain function of ids, safe to run twice: each state change is a
conditional ``UPDATE … WHERE state = …``. Drawing the stations is voterroll/drawing.py,
the zip and metadata voterroll/packaging.py, the files voterroll/run_files.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from voterroll import packaging, pdfs, run_files, stations, task_ids
from voterroll.models import Center, RollRun, Station, Voter

logger = logging.getLogger(__name__)
State = RollRun.State


def create_run(*, strategy: str, center_ids: list[int] | None = None) -> RollRun:
    """Record a queued run; the caller enqueues its start task after commit."""
    if strategy not in RollRun.Strategy.values:
        raise ValueError(f"unknown strategy {strategy!r}")
    run = RollRun.objects.create(strategy=strategy)
    if center_ids:
        run.centers.set(center_ids)
    return run


def forecast() -> dict[str, int]:
    """Count the voters and centers a run of every center covers, and the files it makes.

    One grouped count (the ``voter_center_gender`` index answers it), then the station
    plan ``assign_stations`` follows: a book and a one-page door sign per station, a
    station list per center, and the pages of them all.
    """
    counts: dict[int, dict[str, int]] = {}
    rows = Voter.objects.values("center_id", "gender").annotate(n=Count("id")).order_by()
    for row in rows:
        counts.setdefault(row["center_id"], {})[row["gender"]] = row["n"]
    voters = books = pages = 0
    for per_gender in counts.values():
        plan = stations.plan_center(
            per_gender,
            station_max=settings.ROLL_STATION_MAX,
            unisex_threshold=settings.ROLL_UNISEX_THRESHOLD,
        )
        voters += sum(size for _, size in plan)
        books += len(plan)
        pages += sum(pdfs.book_pages(size) + 1 for _, size in plan)
        pages += pdfs.center_list_pages(len(plan))
    return {"voters": voters, "centers": len(counts), "stations": books, "pages": pages}


def fail(run_id: int, reason: str) -> bool:
    """End an active run as failed with a reason staff can read; return whether it was."""
    now = timezone.now()
    failed = RollRun.objects.filter(id=run_id, state__in=RollRun.ACTIVE_STATES).update(
        state=State.FAILED, error=reason, finished_at=now, updated_at=now
    )
    if failed:
        logger.warning("roll run %s failed: %s", run_id, reason)
    return bool(failed)


def _covers_arabic(run: RollRun) -> bool:
    centers = run.centers.all() if run.centers.exists() else Center.objects.all()
    return centers.filter(locale="ar").exists()


def assign(run_id: int) -> RollRun | None:
    """Start a queued run and split its voters into stations; return it, or None if failed."""
    now = timezone.now()
    RollRun.objects.filter(id=run_id, state=State.QUEUED).update(
        state=State.ASSIGNING, assign_started_at=now, updated_at=now
    )
    try:
        with transaction.atomic():
            run = RollRun.objects.select_for_update().get(id=run_id)
            if run.state != State.ASSIGNING:
                # Already assigned (a redelivered task), cancelled or failed.
                return run
            # Fail at start, naming the package, rather than draw empty boxes later.
            pdfs.ensure_fonts(arabic=_covers_arabic(run))
            stations.assign_stations(run)
            now = timezone.now()
            RollRun.objects.filter(id=run_id).update(
                state=State.RENDERING, render_started_at=now, updated_at=now
            )
    except pdfs.FontMissing as exc:
        fail(run_id, str(exc))
        return None
    return RollRun.objects.get(id=run_id)


def mark_launched(run_id: int) -> bool:
    """Return True once per run: whether the caller should publish the fan-out."""
    return bool(
        RollRun.objects.filter(id=run_id, launched_at__isnull=True).update(
            launched_at=timezone.now()
        )
    )


def waiting_for_stations(run_id: int) -> bool:
    """Whether the run is still rendering with stations left to draw."""
    return RollRun.objects.filter(
        id=run_id, state=State.RENDERING, stations_done__lt=F("stations_count")
    ).exists()


def finalize(run_id: int) -> RollRun | None:
    """Package a fully rendered run (packaging.write_package) and mark it done.

    Returns None when the run is not fully rendered, or ended meanwhile. A callback and
    a sweeper finalizing at once each write a zip nobody sees until it is complete; the
    last one to finish replaces the other's identical bytes.
    """
    now = timezone.now()
    started = RollRun.objects.filter(
        id=run_id,
        state__in=[State.RENDERING, State.FINALIZING],
        stations_done=F("stations_count"),
    ).update(
        state=State.FINALIZING,
        finalize_started_at=Coalesce(F("finalize_started_at"), Value(now)),
        updated_at=now,
    )
    if not started:
        return None
    package = packaging.write_package(RollRun.objects.get(id=run_id))
    done = RollRun.objects.filter(id=run_id, state=State.FINALIZING).update(
        state=State.DONE,
        pages_count=package.pages,
        metadata_file=package.metadata_file,
        zip_file=package.zip_file,
        zip_sha256=package.zip_sha256,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not done:
        return None
    return RollRun.objects.get(id=run_id)


def cancel(run_id: int) -> bool:
    """Cancel an active run: revoke its waiting tasks and remove its files; return whether."""
    now = timezone.now()
    cancelled = RollRun.objects.filter(id=run_id, state__in=RollRun.ACTIVE_STATES).update(
        state=State.CANCELLED, error="Cancelled by staff.", finished_at=now, updated_at=now
    )
    if not cancelled:
        return False
    waiting = Station.objects.filter(run_id=run_id, rendered_at__isnull=True)
    waiting_ids = list(waiting.values_list("id", flat=True))
    revoked = [task_ids.station_task_id(run_id, sid) for sid in waiting_ids]
    # A batch is named after its first station: revoking a name no task has is harmless.
    revoked += [task_ids.batch_task_id(run_id, sid) for sid in waiting_ids]
    revoked += [
        task_ids.center_task_id(run_id, cid)
        for cid in waiting.order_by().values_list("center_id", flat=True).distinct()
    ]
    revoked.append(task_ids.finalize_task_id(run_id))
    # Waiting tasks are dropped by the workers; running ones stop at the next station.
    current_app.control.revoke(revoked)
    run_files.delete_files(run_id)
    return True


def sweep() -> dict[str, list[int]]:
    """Finalize runs whose chord callback never fired, fail runs that stopped moving."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.ROLL_SWEEP_GRACE_SECONDS)
    finished = RollRun.objects.filter(
        state__in=[State.RENDERING, State.FINALIZING],
        stations_done=F("stations_count"),
        updated_at__lte=grace,
    )
    finalized = [run_id for run_id in finished.values_list("id", flat=True) if finalize(run_id)]
    stall = settings.ROLL_STALL_SECONDS
    failed = [
        run.id
        for run in RollRun.objects.active().filter(updated_at__lte=now - timedelta(seconds=stall))
        if fail(
            run.id,
            f"No progress for {stall // 60} minutes while {run.state}: a worker probably "
            "died or the broker lost a task. Start a new run.",
        )
    ]
    return {"finalized": finalized, "failed": failed}
