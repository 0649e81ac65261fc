"""Fixtures for the tasking tests: a Redis namespace per test, an extra subprocess worker."""

from __future__ import annotations

import uuid

import pytest

from tests.tasking import tasks  # noqa: F401 - registers the test tasks before the worker starts
from tests.tasking.tasks import redis

TASK_MODULES = "tests.tasks,tests.tasking.tasks"


@pytest.fixture
def run() -> str:
    """A unique Redis key for what one test's tasks record; deleted afterwards."""
    name = f"tests:{uuid.uuid4().hex}"
    client = redis()
    yield name
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def starts_and_ends(name: str) -> list[tuple[float, float]]:
    """Return the (start, end) pairs recorded under ``name``, in order of start."""
    pairs = [
        tuple(map(float, item.split())) for item in map(bytes.decode, redis().lrange(name, 0, -1))
    ]
    return sorted(pairs)  # type: ignore[arg-type]
