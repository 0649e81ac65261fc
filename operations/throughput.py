"""Tasks per minute and queue, from the task counters every process already keeps.

Workers count each succeeded and failed task in prometheus_client's multiprocess files
(operations/metrics.py), whether or not the task stores a result. Counters only grow, so
the figures per minute are differences between snapshots of their totals: one is taken
each minute (the ``tasking.sample_throughput`` beat entry) and on each dashboard load,
and kept in the cache (Redis, shared by every process) for the chart's hour.

A total that went down restarted from zero: a worker restarted and the files of its dead
processes were removed, so the new total is what ran since. Minutes with no snapshot
(beat stopped) are counted in the next minute that has one. Workers that serve their own
metrics (``WORKER_METRICS_PORT``, on hosts sharing no folder) are not in the folder read
here: Prometheus sees them, this chart does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client import CollectorRegistry, multiprocess

# Counter families (operations/metrics.py) and the outcome each counts.
OUTCOMES = {"celery_task_succeeded": "succeeded", "celery_task_failed": "failed"}
# Two hours: the chart's hour and the snapshot before it, with room for a late reader.
KEEP_SECONDS = 2 * 60 * 60
KEY_PREFIX = "tasking:throughput:"

Totals = dict[str, int]  # "<queue> <outcome>" -> tasks since the counters started


def totals() -> Totals:
    """Add up every process's succeeded and failed counters by queue."""
    registry = CollectorRegistry()
    # The shared folder itself, not this process's (a worker with WORKER_METRICS_PORT
    # writes to a folder of its own).
    multiprocess.MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    counted: Totals = {}
    for family in registry.collect():
        outcome = OUTCOMES.get(family.name)
        if outcome is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = f"{sample.labels.get('queue_name') or '-'} {outcome}"
                counted[key] = counted.get(key, 0) + int(sample.value)
    return counted


def minute_key(minute: datetime) -> str:
    """The cache key of the snapshot taken in ``minute``."""
    return f"{KEY_PREFIX}{minute.astimezone(UTC):%Y%m%d%H%M}"


def sample(*, now: datetime | None = None, current: Totals | None = None) -> Totals:
    """Keep the totals as this minute's snapshot, unless one was kept already; return them."""
    now = now or timezone.now()
    current = totals() if current is None else current
    cache.add(minute_key(now.replace(second=0, microsecond=0)), current, timeout=KEEP_SECONDS)
    return current


def _increase(end: Totals, start: Totals) -> Totals:
    return {
        key: (value - start.get(key, 0)) if value >= start.get(key, 0) else value
        for key, value in end.items()
    }


def per_minute(minutes: Sequence[datetime], *, current: Totals) -> dict[str, list[int]]:
    """Count the tasks of each queue and outcome that ended in each of ``minutes``.

    ``minutes`` are consecutive minute starts ending with the current one; the tasks of
    minute i are the increase from its snapshot to the next minute's (to ``current``
    for the last).
    """
    snapshots = cache.get_many([minute_key(minute) for minute in minutes])
    counts: dict[str, list[int]] = {}
    known = snapshots.get(minute_key(minutes[0]))
    for i in range(len(minutes)):
        end = current if i == len(minutes) - 1 else snapshots.get(minute_key(minutes[i + 1]))
        if end is None:
            continue
        if known is not None:
            for key, increase in _increase(end, known).items():
                counts.setdefault(key, [0] * len(minutes))[i] += increase
        known = end
    return counts


def chart_minutes(now: datetime, count: int) -> list[datetime]:
    """The starts of the last ``count`` minutes, the current one last."""
    current = now.replace(second=0, microsecond=0)
    return [current - timedelta(minutes=count - 1 - i) for i in range(count)]
