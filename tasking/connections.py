"""Connections of the task layer: one Redis client per URL, and the database's kept per task.

Locks, markers and rate limits share one Redis client per URL and process
(``redis_client``).

A worker's database connection is kept from one task to the next, as Django does per request.

Celery's Django fixup closes every connection before and after each task, so each task
opened a new PostgreSQL connection (a server process forked, authentication, the time
zone set): about 10 ms of a 50 ms station task. ``CELERY_DB_REUSE_MAX`` turns that off;
these handlers apply Django's own rules instead, around each task as around each
request: a connection older than ``CONN_MAX_AGE`` or left in error is closed, and
``conn_health_checks`` pings a kept one before its first use, so a restarted
PostgreSQL costs a reconnect, not a failed task.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import redis
from celery import signals
from django.db import close_old_connections


@cache
def redis_client(url: str) -> redis.Redis:
    """Return one client per URL and process (redis-py resets its pool after a fork)."""
    return redis.Redis.from_url(url)


# 200: room for a task name and its key arguments; longer keys (arguments of any size)
# are shortened by a hash, so a key's size in Redis stays bounded.
MAX_KEY_LENGTH = 200


def redis_key(prefix: str, *parts: object) -> str:
    """Join a prefix and parts into a Redis key of at most MAX_KEY_LENGTH characters."""
    key = f"{prefix}:" + ":".join(str(part) for part in parts)
    if len(key) > MAX_KEY_LENGTH:
        key = f"{prefix}:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _close_old_connections(**kwargs: Any) -> None:
    close_old_connections()


def connect() -> None:
    """Close unusable or expired connections around every task of this process."""
    for signal in (signals.task_prerun, signals.task_postrun):
        signal.connect(
            _close_old_connections,
            weak=False,
            dispatch_uid=f"tasking.connections.{signal.name}",  # type: ignore[attr-defined]
        )
