"""How long a task waits before trying again: one curve for every retry the project schedules."""

from __future__ import annotations

import random


def countdown(retries: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``retries + 1``: exponential, jittered, bounded.

    The step is Celery's ``retry_backoff`` curve, ``base * 2**retries`` up to ``cap``.
    "Equal jitter": half of the step is fixed and half random, so waits spread out (no
    thundering herd after an outage) yet never shrink from one retry to the next.
    """
    step: float = min(cap, base * 2**retries)
    return step / 2 + random.uniform(0, step / 2)  # noqa: S311 - jitter, not secrecy
