"""Helpers of the fault scenarios: quiet outings, effect counts, duplicate publishes, the table."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from kombu import Connection

from outings.models import Outing, Participant
from tests.faults.tasks import effects_key
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis

# The fault table sits beside the benchmarks' results (bench/results/faults.json).
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.json"


def quiet_outings(
    user: Any, starts: Iterable[datetime], *, participants: int = 0
) -> tuple[list[Outing], list[Participant]]:
    """Save one outing per start time, each with ``participants`` people to remind.

    bulk_create sends no post_save, so no announcement is published.
    """
    outings = Outing.objects.bulk_create(
        Outing(title=f"Outing {n}", place="Parc Monceau", starts_at=start, created_by=user)
        for n, start in enumerate(starts)
    )
    people = Participant.objects.bulk_create(
        Participant(outing=outing, name=f"P {n}", handle=f"o{outing.pk}p{n}")
        for outing in outings
        for n in range(participants)
    )
    return outings, people


def effects(run: str) -> dict[int, int]:
    """How many times each message of ``run`` had its effect, by sequence number."""
    return {int(k): int(v) for k, v in redis().hgetall(effects_key(run)).items() if k.isdigit()}


def publish_twice(publish, task, *args) -> None:
    """Publish one message twice under one id: what a redelivery after a lost ack looks like."""
    message_id = str(uuid.uuid4())
    for _ in range(2):
        publish(task, *args, task_id=message_id)


def queues_empty(url: str, *names: str) -> bool:
    """True when none of the named queues has a message waiting."""
    with Connection(url) as conn:
        channel = conn.default_channel
        return all(channel.queue_declare(name, passive=True).message_count == 0 for name in names)


def wait_for_drain(url: str, *names: str, timeout: float = 60) -> None:
    """Wait until none of the named queues on the broker at ``url`` has a message waiting."""
    wait_until(
        lambda: queues_empty(url, *names), timeout=timeout, what=f"{', '.join(names)} to drain"
    )


def reminders_seen(texts: list[str], participants: list[Participant]) -> dict[int, int]:
    """How many reminder tweets each participant got, by position (those with none left out)."""
    seen = {}
    for n, participant in enumerate(participants):
        sent = sum(1 for text in texts if text.startswith(f"@{participant.handle} reminder:"))
        if sent:
            seen[n] = sent
    return seen


def write_table(rows: list[dict[str, Any]]) -> Path:
    """Write the scenarios' rows to bench/results/faults.json, whole or not at all."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    partial = RESULTS.with_suffix(".json.tmp")
    partial.write_text(json.dumps(rows, indent=2))
    partial.replace(RESULTS)
    return RESULTS
