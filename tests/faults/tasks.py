"""Tasks the fault scenarios run; subprocess workers load them with ``--include``.

Each run counts its effects in a Redis hash keyed by the run: field = the message's
sequence number, value = how many times its effect happened. A missing field is a lost
task, a value above one a duplicated effect.
"""

from __future__ import annotations

import os
import signal
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from filestore.local import LocalStorage
from tasking.base import task
from tasking.connections import redis_client

# A queue no other worker consumes, so a scenario decides who runs what and when.
QUEUE = "faults"


def effects_key(run: str) -> str:
    return f"faults:{run}:effects"


# run_once: a message redelivered after its ack was lost (broker restart, SIGTERM) is
# not run again, the way the project's side-effect tasks guard themselves.
@task(name="faults.count", ignore_result=True, run_once=True)
def count(run: str, seq: int, pause: float = 0.0, **kwargs) -> None:
    """Count one effect for message ``seq`` of ``run``, after an optional pause."""
    client = redis_client(settings.REDIS_URL)
    client.sadd(f"faults:{run}:started", seq)
    time.sleep(pause)
    client.hincrby(effects_key(run), str(seq), 1)


@task(name="faults.die_once")
def die_once(run: str, seq: int, **kwargs) -> None:
    """SIGKILL this prefork child on the message's first delivery; count on the next."""
    client = redis_client(settings.REDIS_URL)
    if client.set(f"faults:{run}:died:{seq}", os.getpid(), nx=True, ex=600):
        os.kill(os.getpid(), signal.SIGKILL)
    client.hincrby(effects_key(run), str(seq), 1)


def count_kill(exc: BaseException, run: str, seq: int, **kwargs) -> None:
    """Record, from the worker's main process, that message ``seq`` was given up on."""
    redis_client(settings.REDIS_URL).hset(f"faults:{run}:killed", str(seq), type(exc).__name__)


# max_retries=2: three deliveries, each killing its child, then the message fails.
@task(name="faults.die_always", max_retries=2, on_killed=count_kill)
def die_always(run: str, seq: int, **kwargs) -> None:
    """A poison message: SIGKILL the prefork child on every delivery."""
    redis_client(settings.REDIS_URL).hincrby(f"faults:{run}:deliveries", str(seq), 1)
    os.kill(os.getpid(), signal.SIGKILL)


@task(name="faults.overrun", soft_time_limit=1, time_limit=30)
def overrun(run: str, **kwargs) -> None:
    """Sleep well past the one-second soft time limit."""
    time.sleep(20)
    redis_client(settings.REDIS_URL).hincrby(effects_key(run), "overran", 1)


# 0.5 s soft, 2 s hard; the task swallows the soft limit, as code with a broad
# ``except Exception`` would, so only the hard limit's kill stops it.
@task(name="faults.swallow_soft_limit", soft_time_limit=0.5, time_limit=2, on_killed=count_kill)
def swallow_soft_limit(run: str, seq: int, **kwargs) -> None:
    """Ignore the soft time limit and keep sleeping until the hard limit kills the child."""
    try:
        time.sleep(20)
    except SoftTimeLimitExceeded:
        time.sleep(20)
    redis_client(settings.REDIS_URL).hincrby(effects_key(run), "overran", 1)


def _slow_chunks(chunks: int, pause: float):
    for _ in range(chunks):
        yield b"x" * 1024
        time.sleep(pause)


@task(name="faults.slow_write", soft_time_limit=1, time_limit=30)
def slow_write(run: str, path: str, **kwargs) -> None:
    """Write a file through a local storage's atomic writer for 10 s: the soft limit cuts it."""
    folder, name = os.path.split(path)
    with LocalStorage(location=folder).atomic_writer(name) as out:
        for chunk in _slow_chunks(chunks=50, pause=0.2):
            out.write(chunk)
    redis_client(settings.REDIS_URL).hincrby(effects_key(run), "written", 1)
