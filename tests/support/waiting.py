"""One way for a test to wait for something another process or thread does."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 30,
    interval: float = 0.05,
    what: str | Callable[[], str] = "",
) -> T:
    """Poll ``condition`` until it returns something true and return that.

    Fail after ``timeout`` seconds, naming ``what`` never happened; a callable ``what``
    is asked at that moment, so the message can say where things stopped.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {said or condition}")
        time.sleep(interval)


def succeeds(call: Callable[[], object], *errors: type[BaseException]) -> Callable[[], bool]:
    """Make a condition of ``call``: true once it returns without raising one of ``errors``."""

    def condition() -> bool:
        try:
            call()
        except errors:
            return False
        return True

    return condition


def wait_for_start(
    process: subprocess.Popen[Any],
    ready: Callable[[], object],
    *,
    name: str,
    timeout: float,
    log: Callable[[], str] = str,
    interval: float = 0.2,
) -> None:
    """Wait until ``ready()`` is true; fail at once, showing ``log()``, if ``process`` exits."""

    def started() -> bool:
        if ready():
            return True
        if process.poll() is not None:
            raise AssertionError(
                f"{name} exited with code {process.returncode} before it was ready:\n{log()}"
            )
        return False

    def what() -> str:
        return f"{name} to start:\n{log()}"

    wait_until(started, timeout=timeout, interval=interval, what=what)
