"""Fixtures for the tasking tests: their test tasks, registered before the worker starts."""

from __future__ import annotations

from tests.tasking import tasks  # noqa: F401 - registers the test tasks before the worker starts
