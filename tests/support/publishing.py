"""Record the task messages published meanwhile, as the broker gets them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery.signals import before_task_publish


@dataclass(frozen=True)
class Published:
    task: str
    args: list[Any]
    routing_key: str
    headers: dict[str, Any]

    @property
    def expires(self) -> datetime | None:
        """The message's ``expires`` header as a datetime, or None when it has none."""
        value = self.headers.get("expires")
        return datetime.fromisoformat(value) if value else None


@contextmanager
def recording() -> Iterator[list[Published]]:
    """Yield a list that gets every message published inside the block."""
    seen: list[Published] = []

    def record(sender: str, body: Any, routing_key: str, headers: dict, **kwargs: Any) -> None:
        seen.append(Published(sender, list(body[0]), routing_key, headers))

    before_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)
