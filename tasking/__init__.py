"""The task-writing API every app builds on: ``@task`` and what it adds to Celery.

``tasking`` imports no app. Its public names are below; each is imported on first use,
so importing the package loads no model and connects no signal (Django imports it
before the app registry is ready)::

    from tasking import SingleInstance, task
    from tasking import backoff, generators, outbox

Watching the work (/healthz, /metrics, the Tasks dashboard, logs) is the ``operations``
app's job.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasking import (
        backoff,
        base,
        connections,
        dedup,
        generators,
        locks,
        markers,
        outbox,
        ratelimit,
        results,
    )
    from tasking.base import ProjectTask, task
    from tasking.dedup import Deduplicate
    from tasking.generators import ChunkedGenerator
    from tasking.locks import Lock, LockBusy, SingleInstance
    from tasking.ratelimit import Rate, parse_rate
    from tasking.results import DATABASE_DOWN

# Name -> the module defining it.
_NAMES = {
    "ChunkedGenerator": "tasking.generators",
    "DATABASE_DOWN": "tasking.results",
    "Deduplicate": "tasking.dedup",
    "Lock": "tasking.locks",
    "LockBusy": "tasking.locks",
    "ProjectTask": "tasking.base",
    "Rate": "tasking.ratelimit",
    "SingleInstance": "tasking.locks",
    "parse_rate": "tasking.ratelimit",
    "task": "tasking.base",
}

__all__ = [
    "DATABASE_DOWN",
    "ChunkedGenerator",
    "Deduplicate",
    "Lock",
    "LockBusy",
    "ProjectTask",
    "Rate",
    "SingleInstance",
    "backoff",
    "base",
    "connections",
    "dedup",
    "generators",
    "locks",
    "markers",
    "outbox",
    "parse_rate",
    "ratelimit",
    "results",
    "task",
]


# The rest of __all__ are modules of the package.
_MODULES = frozenset(__all__) - _NAMES.keys()


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    if name in _MODULES:
        return importlib.import_module(f"tasking.{name}")
    raise AttributeError(f"module 'tasking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
