"""Cluster-wide rate limits: at most R starts of a task per window across all workers.

Celery's own ``rate_limit`` is per worker, so the real rate changes as workers come and
go. Here every start is recorded in one sliding-window log in Redis (a Lua script using
the Redis clock, so checking and recording are one atomic step and no worker's clock
matters).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from tasking.connections import redis_client

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")

# Returns 0 when the start is recorded, else milliseconds until a slot frees up.
_TRY_START = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now_ms)
"""


@dataclass(frozen=True)
class Rate:
    """``count`` starts per ``seconds``."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}s"


def parse_rate(text: str) -> Rate:
    """Parse ``"50/15m"`` (50 per 15 minutes), ``"5/s"``, ``"100/1h"`` or ``"1000/d"``."""
    match = _RATE.match(text or "")
    if not match or int(match[1]) < 1 or match[2] == "0":
        raise ValueError(
            f"rate limit {text!r} is not '<count>/<window>', e.g. '50/15m' "
            "(units: s, m, h, d; count and window above zero)"
        )
    return Rate(count=int(match[1]), seconds=int(match[2] or 1) * _UNITS[match[3]])


def try_start(key: str, rate: Rate) -> float:
    """Record a start if the window has room; return 0, or seconds to wait before trying again."""
    client = redis_client(settings.REDIS_URL)
    wait_ms = client.register_script(_TRY_START)(
        keys=[f"ratelimit:{key}"],
        args=[rate.count, int(rate.seconds * 1000), secrets.token_hex(8)],
    )
    return int(wait_ms) / 1000
