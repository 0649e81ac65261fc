"""What the Tasks dashboard shows: workers, queues, the last hour, failures, schedules."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery, states
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from operations import charts, deadletters, inspection, progress, shared_answers, throughput

logger = logging.getLogger(__name__)

CHART_MINUTES = 60
RECENT_FAILURES = 10


def last_hour(app: Celery, *, now: datetime) -> dict[str, Any]:
    """Count succeeded and failed tasks per minute and queue over the last hour.

    Every task counts, stored result or not: the figures come from the task counters
    (operations/throughput.py). This load's totals become this minute's snapshot if beat
    has not taken one yet.
    """
    minutes = throughput.chart_minutes(now, CHART_MINUTES)
    current = throughput.totals()
    counted = throughput.per_minute(minutes, current=current)
    throughput.sample(now=now, current=current)
    counts: dict[tuple[str, str], list[int]] = {}
    for queue in inspection.declared_queues(app):
        counts[(queue, "succeeded")] = [0] * CHART_MINUTES
    for key, points in counted.items():
        queue, _, outcome = key.rpartition(" ")
        counts[(queue, outcome)] = points
    colors: dict[str, str] = {}
    series = []
    for (queue, outcome), points in sorted(counts.items()):
        color = colors.setdefault(queue, charts.PALETTE[len(colors) % len(charts.PALETTE)])
        series.append(charts.Series(f"{queue} {outcome}", points, color, outcome == "failed"))
    svg = charts.line_chart(
        title="Tasks per minute over the last hour, by queue", minutes=minutes, series=series
    )
    totals = {
        "succeeded": sum(sum(s.points) for s in series if not s.dashed),
        "failed": sum(sum(s.points) for s in series if s.dashed),
    }
    return {"svg": mark_safe(svg), "totals": totals}  # noqa: S308 - built from escaped parts


def recent_failures() -> list[dict[str, Any]]:
    """List the latest failed tasks with their exception, traceback and admin link."""
    failures = []
    for row in TaskResult.objects.filter(status=states.FAILURE).order_by("-date_done")[
        :RECENT_FAILURES
    ]:
        try:
            result = json.loads(row.result or "{}")
        except ValueError:
            result = {}
        exception = result.get("exc_type", "") if isinstance(result, dict) else ""
        message = result.get("exc_message", "") if isinstance(result, dict) else ""
        if isinstance(message, list):
            message = " ".join(str(part) for part in message)
        failures.append(
            {
                "task_name": row.task_name,
                "task_id": row.task_id,
                "worker": row.worker,  # type: ignore[attr-defined]  # a field the plugin misses
                "date_done": row.date_done,
                "exception": exception,
                "message": message,
                "traceback": row.traceback or "",
                "admin_url": reverse(
                    "admin:django_celery_results_taskresult_change", args=[row.pk]
                ),
            }
        )
    return failures


def periodic_tasks() -> list[dict[str, Any]]:
    """List periodic tasks with their last run and the next one their schedule gives.

    A task that never ran, or whose due time passed (beat was down), has its next run
    from the schedule counted from now: a daily 04:00 job says tomorrow 04:00, not "now".
    An overdue one also says since when it is due: beat, when up, runs it at its next tick.
    """
    rows = []
    for task in PeriodicTask.objects.select_related(
        "interval", "crontab", "solar", "clocked"
    ).order_by("name"):
        next_run = due_since = None
        if task.enabled:
            try:
                schedule = task.schedule
                if task.last_run_at:
                    remaining = schedule.remaining_estimate(task.last_run_at)
                    if remaining > timedelta(0):
                        next_run = schedule.now() + remaining
                    else:
                        due_since = schedule.now() + remaining
                if next_run is None:
                    next_run = schedule.now() + schedule.remaining_estimate(schedule.now())
                # Counted on the schedule's clock, which moved on a few microseconds.
                next_run = (next_run + timedelta(microseconds=500_000)).replace(microsecond=0)
            except Exception:
                logger.warning("cannot compute the next run of %s", task.name, exc_info=True)
        rows.append(
            {
                "name": task.name,
                "task": task.task,
                "enabled": task.enabled,
                "last_run_at": task.last_run_at,
                "next_run": next_run,
                "due_since": due_since,
                "admin_url": reverse(
                    "admin:django_celery_beat_periodictask_change", args=[task.pk]
                ),
            }
        )
    return rows


def workers(app: Celery, *, timeout: float) -> list[dict[str, Any]]:
    """List the workers that answer, with their queues and active and reserved tasks."""
    try:
        queues = inspection.workers_and_queues(app, timeout=timeout)
        tasks = inspection.worker_tasks(app, workers=list(queues), timeout=timeout)
    except Exception:
        logger.warning("could not ask the workers", exc_info=True)
        return []
    return [
        {
            "name": name,
            "queues": queues[name],
            "active": tasks.get(name, {}).get("active", []),
            "reserved": tasks.get(name, {}).get("reserved", []),
        }
        for name in queues
    ]


def queues(app: Celery, *, workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each declared queue its depth and consumers.

    RabbitMQ counts a queue's consumers; the embedded broker (Redis) cannot, so there
    the consumers are the workers that said they consume the queue, as /healthz counts.
    """
    consuming: dict[str, int] = {}
    for worker in workers:
        for queue in worker["queues"]:
            consuming[queue] = consuming.get(queue, 0) + 1
    return [
        {
            "name": depth.name,
            "messages": depth.messages,
            "consumers": depth.consumers
            if depth.consumers is not None
            else consuming.get(depth.name, 0),
            "error": depth.error,
        }
        for depth in inspection.queue_depths(app)
    ]


SHARED_BROKER_KEY = "tasking:dashboard:broker"


def broker_side(app: Celery, *, worker_timeout: float, max_age: float) -> dict[str, Any]:
    """Workers and queues, asked at most once per ``max_age`` for every viewer.

    The broadcast to the workers waits up to ``worker_timeout``: the slow part of the
    page. Its answer is shared through the cache (operations/shared_answers.py) and asked
    again in the background, so no load but the first waits for it; the page says when
    it was asked.
    """

    def ask() -> dict[str, Any]:
        answered = workers(app, timeout=worker_timeout)
        return {"workers": answered, "queues": queues(app, workers=answered), "at": time.time()}

    # Two broadcasts (queues, then tasks), each waiting up to the timeout.
    return shared_answers.shared_answer(
        SHARED_BROKER_KEY,
        ask,
        max_age=max_age,
        ask_timeout=2 * worker_timeout,
        in_background=True,
    )


def snapshot(app: Celery, *, worker_timeout: float, max_age: float = 0) -> dict[str, Any]:
    """Gather everything the dashboard shows (workers and queues as of ``max_age`` ago)."""
    now = timezone.now()
    broker = broker_side(app, worker_timeout=worker_timeout, max_age=max_age)
    return {
        "now": now,
        "workers": broker["workers"],
        "queues": broker["queues"],
        "asked_at": datetime.fromtimestamp(broker["at"], tz=UTC),
        "chart": last_hour(app, now=now),
        "failures": recent_failures(),
        "periodic_tasks": periodic_tasks(),
        "progress": progress.collect(),
        **dead_letters(app),
    }


def dead_letters(app: Celery) -> dict[str, Any]:
    """List the oldest dead letters; None where the broker keeps none (Redis, classic)."""
    count = deadletters.waiting(app)
    return {
        "dead_waiting": count,
        "dead_letters": None if count is None else deadletters.listing(app),
        "delivery_limit": settings.CELERY_DELIVERY_LIMIT,
    }
