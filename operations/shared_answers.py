"""Answers that are slow to get (a broadcast to the workers), shared by every process.

A remote-control broadcast waits its whole timeout for replies. Asked per request, a few
requests at once held every web thread that long. The answer is kept in the cache
(Redis, shared by every web process): one caller at a time (a cache ``add``) asks again
once it is older than ``max_age``; meanwhile the others take the last answer or, when
there is none yet, wait for that caller's. With ``in_background`` the caller that asks
does not wait either: it returns the last answer and a thread of its process asks, so
only the very first caller ever waits for the workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar, cast

from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds between two looks at the cache while another caller asks.
_WAIT_STEP = 0.05


def asking_key(key: str) -> str:
    """The cache key held while one caller asks for the answer kept under ``key``."""
    return f"{key}:asking"


def shared_answer(
    key: str,
    ask: Callable[[], T],
    *,
    max_age: float,
    ask_timeout: float,
    in_background: bool = False,
) -> T:
    """Return ``ask()``'s answer, asked at most once per ``max_age`` by all processes.

    ``ask_timeout`` bounds how long ``ask`` takes (its broadcast timeout): a caller waits
    that long for another's answer before asking itself. ``max_age`` 0 asks every time.
    ``in_background`` answers from the last answer, however old, while a thread asks.
    """
    if max_age <= 0:
        return ask()
    try:
        last = cache.get(key)
        if last is not None and time.time() - last["at"] < max_age:
            return cast(T, last["answer"])
        # The key outlives a caller that dies while asking, by a little.
        if not cache.add(asking_key(key), True, timeout=ask_timeout + 5):
            if last is not None:
                return cast(T, last["answer"])
            deadline = time.monotonic() + ask_timeout + 2
            while time.monotonic() < deadline:
                time.sleep(_WAIT_STEP)
                last = cache.get(key)
                if last is not None:
                    return cast(T, last["answer"])
            return ask()
    except Exception as exc:
        # No cache (the database cache while the database is down): ask directly.
        logger.warning("the cache is unavailable (%s); asking directly for %s", exc, key)
        return ask()
    if in_background and last is not None:
        threading.Thread(
            target=_ask_and_keep, args=(key, ask, max_age, ask_timeout), daemon=True
        ).start()
        return cast(T, last["answer"])
    return _ask_and_keep(key, ask, max_age, ask_timeout)


def _ask_and_keep(key: str, ask: Callable[[], T], max_age: float, ask_timeout: float) -> T:
    try:
        fresh = ask()
        # Kept a while past max_age, to answer callers while the next ask is under way.
        cache.set(key, {"at": time.time(), "answer": fresh}, timeout=max_age + ask_timeout + 30)
    finally:
        cache.delete(asking_key(key))
    return fresh
