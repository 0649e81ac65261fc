"""Tasks of the operations side: the beat heartbeat and the counter snapshots.

Their names keep the ``tasking.`` prefix they were published under: beat schedules
and stored results name them.
"""

from __future__ import annotations

from typing import Any

from operations import throughput
from tasking.base import task


@task(name="tasking.beat_heartbeat", ignore_result=True)
def beat_heartbeat(**kwargs: Any) -> None:
    """Do nothing: beat publishing this task every 30 s is the heartbeat /healthz reads."""


@task(name="tasking.sample_throughput", ignore_result=True)
def sample_throughput(**kwargs: Any) -> None:
    """Keep this minute's totals of the task counters, for the dashboard's tasks per minute."""
    throughput.sample()
