"""One way for a test to wait for something another process or thread does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
