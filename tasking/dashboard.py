"""What the Tasks dashboard shows: workers, queues, the last hour, failures, schedules."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, states
from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tasking import charts, deadletters, inspection, progress

logger = logging.getLogger(__name__)

CHART_MINUTES = 60
RECENT_FAILURES = 10


def queue_of(app: Celery, task_name: str, _cache: dict[str, str] = {}) -> str:  # noqa: B006 - memo
    """Name the queue the routes send a task to."""
    if task_name not in _cache:
        try:
            route = app.amqp.router.route({}, task_name, (), {})
            _cache[task_name] = route["queue"].name
        except Exception:
            _cache[task_name] = app.conf.task_default_queue
    return _cache[task_name]


def last_hour(app: Celery, *, now: datetime) -> dict[str, Any]:
    """Count succeeded and failed tasks per minute and queue over the last hour."""
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    minutes = [end - timedelta(minutes=CHART_MINUTES - i) for i in range(CHART_MINUTES)]
    index = {minute: i for i, minute in enumerate(minutes)}
    rows = (
        TaskResult.objects.filter(
            date_done__gte=minutes[0], status__in=[states.SUCCESS, states.FAILURE]
        )
        .annotate(minute=TruncMinute("date_done"))
        .values("minute", "task_name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[str, str], list[int]] = {}
    for queue in inspection.declared_queues(app):
        counts[(queue, states.SUCCESS)] = [0] * CHART_MINUTES
    for row in rows:
        i = index.get(row["minute"])
        if i is None:
            continue
        key = (queue_of(app, row["task_name"] or ""), row["status"])
        counts.setdefault(key, [0] * CHART_MINUTES)[i] += row["n"]
    colors = {}
    series = []
    for (queue, status), points in sorted(counts.items()):
        color = colors.setdefault(queue, charts.PALETTE[len(colors) % len(charts.PALETTE)])
        label = f"{queue} {'succeeded' if status == states.SUCCESS else 'failed'}"
        series.append(charts.Series(label, points, color, dashed=status == states.FAILURE))
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
                "worker": row.worker,
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


def periodic_tasks(*, now: datetime) -> list[dict[str, Any]]:
    """List periodic tasks with their last run and the next one the schedule gives."""
    rows = []
    for task in PeriodicTask.objects.order_by("name"):
        next_run = None
        if task.enabled:
            try:
                remaining = task.schedule.remaining_estimate(task.last_run_at or now)
                next_run = max(now, now + remaining) if task.last_run_at else now
            except Exception:
                logger.warning("cannot compute the next run of %s", task.name, exc_info=True)
        rows.append(
            {
                "name": task.name,
                "task": task.task,
                "enabled": task.enabled,
                "last_run_at": task.last_run_at,
                "next_run": next_run,
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


def snapshot(app: Celery, *, worker_timeout: float) -> dict[str, Any]:
    """Gather everything the dashboard shows."""
    now = timezone.now()
    return {
        "now": now,
        "workers": workers(app, timeout=worker_timeout),
        "queues": inspection.queue_depths(app),
        "chart": last_hour(app, now=now),
        "failures": recent_failures(),
        "periodic_tasks": periodic_tasks(now=now),
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
