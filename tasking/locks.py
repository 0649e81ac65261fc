"""Single-instance locks: at most one run per key at a time across every worker.

The holder's random token guards release and renewal (a compare-and-delete), so nobody
frees a lock they do not hold. The lock expires after its TTL unless a heartbeat thread
renews it, so a worker killed with SIGKILL frees it within the TTL. The locks live in
the Redis at ``REDIS_URL`` (the embedded Redis on the embedded default).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from tasking.connections import redis_client, redis_key

logger = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class RedisLocks:
    """Locks as Redis keys set with NX and a TTL; release and renew are Lua scripts."""

    def __init__(self, url: str) -> None:
        self.client = redis_client(url)
        self._release = self.client.register_script(_RELEASE)
        self._renew = self.client.register_script(_RENEW)

    def acquire(self, key: str, token: str, ttl: float) -> bool:
        return bool(self.client.set(key, token, nx=True, px=int(ttl * 1000)))

    def release(self, key: str, token: str) -> bool:
        return bool(self._release(keys=[key], args=[token]))

    def renew(self, key: str, token: str, ttl: float) -> bool:
        return bool(self._renew(keys=[key], args=[token, int(ttl * 1000)]))

    def holder(self, key: str) -> str | None:
        value = self.client.get(key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


def backend() -> RedisLocks:
    """Return the locks in the Redis at ``REDIS_URL``."""
    return RedisLocks(settings.REDIS_URL)


def lock_key(*parts: object) -> str:
    """Join parts into a lock's key, of bounded length."""
    return redis_key("lock", *parts)


class Lock:
    """A lock on one key, renewed by a heartbeat thread while held as a context manager."""

    def __init__(self, key: str, *, ttl: float | None = None, backend_: RedisLocks | None = None):
        self.key = key
        self.ttl = float(ttl if ttl is not None else settings.TASKING_LOCK_TTL)
        self.token = secrets.token_hex(16)
        self.backend = backend_ or backend()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; return whether this holder now has it."""
        return self.backend.acquire(self.key, self.token, self.ttl)

    def release(self) -> bool:
        """Free the lock if this holder still has it; return whether it did."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        return self.backend.release(self.key, self.token)

    def renew(self) -> bool:
        """Push the expiry a full TTL ahead if this holder still has the lock."""
        return self.backend.renew(self.key, self.token, self.ttl)

    def start_heartbeat(self) -> None:
        """Renew the lock every third of its TTL until it is released."""
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"lock-heartbeat {self.key}", daemon=True
        )
        self._heartbeat.start()

    def _beat(self) -> None:
        # A third of the TTL leaves two renewals' slack for a slow backend round trip.
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.renew():
                    logger.warning("lost lock %s (expired before renewal)", self.key)
                    return
            except Exception:
                logger.exception("could not renew lock %s", self.key)

    def __enter__(self) -> Lock:
        if not self.acquire():
            raise LockBusy(self.key)
        self.start_heartbeat()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class LockBusy(Exception):
    """Another holder has the lock."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key} is held by another run")
        self.key = key


@dataclass(frozen=True)
class SingleInstance:
    """Task option: at most one run at a time per value of the ``key`` arguments.

    ``when_busy="skip"`` drops a run that finds the lock held; ``"retry"`` re-schedules it
    after ``retry_after`` seconds without using up its ``max_retries``.
    """

    key: tuple[str, ...] = ()
    ttl: float | None = None
    when_busy: Literal["skip", "retry"] = "skip"
    retry_after: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.key, str):
            object.__setattr__(self, "key", (self.key,))
        if self.when_busy not in ("skip", "retry"):
            raise ValueError(f"when_busy must be 'skip' or 'retry' (got {self.when_busy!r})")
