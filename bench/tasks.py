"""Tasks the benchmarks run; workers load them with ``--include bench.tasks``."""

import time
from pathlib import Path

from tasking.base import task


@task(name="bench.noop", ignore_result=True)
def noop(**kwargs) -> None:
    """Do nothing, so only Celery's own cost (and its signal handlers') is measured."""


@task(name="bench.mark", ignore_result=True)
def mark(path: str, **kwargs) -> None:
    """Write the current time to a file (idempotent: the last run wins)."""
    Path(path).write_text(repr(time.time()))
