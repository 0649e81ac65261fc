"""Markers: short facts shared by every worker, kept as Redis keys with a TTL.

A marker says that something is so for a while: a message already ran (``run_once``),
a message for a key is waiting in the queue (``deduplicate``). Unlike a lock nobody
holds it or renews it: it is set once if absent, read, and dropped by the one who set
it, or it lapses after its TTL. It lives in the Redis at ``REDIS_URL``.
"""

from __future__ import annotations

import redis
from django.conf import settings

from tasking.connections import redis_client, redis_key

# Only the value that set the marker drops it.
_DROP = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

# "lock": the prefix these keys were first written under (markers were locks then), kept
# so the markers a running release set are still read by the next one.
PREFIX = "lock"


def marker_key(*parts: object) -> str:
    """Join parts into a marker's key, of bounded length."""
    return redis_key(PREFIX, *parts)


def put(key: str, value: str, ttl: float) -> bool:
    """Set the marker to ``value`` for ``ttl`` seconds unless it is set; return whether it was."""
    return bool(_client().set(key, value, nx=True, px=int(ttl * 1000)))


def get(key: str) -> str | None:
    """Return the marker's value, or None when it is not set."""
    value = _client().get(key)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def drop(key: str, value: str) -> bool:
    """Delete the marker if it still holds ``value``; return whether it did."""
    client = _client()
    return bool(client.register_script(_DROP)(keys=[key], args=[value]))


def _client() -> redis.Redis:
    return redis_client(settings.REDIS_URL)
