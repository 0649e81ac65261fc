"""Queue-time deduplication: while one message for a key waits, more calls publish nothing.

Publishing sets a marker (tasking/markers.py) holding the task id for the key; the run
drops it as it starts, so a call made while the task runs queues a fresh message.
The marker expires after a TTL, so a lost message never blocks its key for good.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasking import markers


@dataclass(frozen=True)
class Deduplicate:
    """Task option: one waiting message per value of the ``key`` arguments."""

    key: tuple[str, ...] = ()
    # 3600: the longest countdown the project schedules (CELERY_LONGEST_COUNTDOWN).
    ttl: float = 3600

    def __post_init__(self) -> None:
        if isinstance(self.key, str):
            object.__setattr__(self, "key", (self.key,))


def marker_key(task_name: str, values: tuple[object, ...]) -> str:
    """Return the marker key for one task and key-argument values."""
    return markers.marker_key("dedup", task_name, *values)


def mark_waiting(key: str, task_id: str, ttl: float) -> str | None:
    """Mark a message as waiting; return the id of the one already waiting, if any."""
    if markers.put(key, task_id, ttl):
        return None
    # The waiting message may have started (and dropped its marker) between the two calls.
    waiting = markers.get(key)
    if waiting is None and markers.put(key, task_id, ttl):
        return None
    return waiting or task_id


def release(key: str, task_id: str) -> None:
    """Drop the marker as the message's run starts (only if it is this message's)."""
    markers.drop(key, task_id)
