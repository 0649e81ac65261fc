"""Tasks the fault scenarios run; subprocess workers load them with ``--include``.

Each run counts its effects in a Redis hash keyed by the run: field = the message's
sequence number, value = how many times its effect happened. A missing field is a lost
task, a value above one a duplicated effect.
"""

from __future__ import annotations

import os
import signal
import time

from django.conf import settings

from posts.storage import write_atomically
from tasking.base import task
from tasking.locks import redis_client

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


def _die_once(run: str, seq: int) -> None:
    """SIGKILL this prefork child on the message's first delivery; count on the next."""
    client = redis_client(settings.REDIS_URL)
    if client.set(f"faults:{run}:died:{seq}", os.getpid(), nx=True, ex=600):
        os.kill(os.getpid(), signal.SIGKILL)
    client.hincrby(effects_key(run), str(seq), 1)


@task(name="faults.die_once", reject_on_worker_lost=True)
def die_once(run: str, seq: int, **kwargs) -> None:
    """Die on the first delivery; with reject_on_worker_lost the message is redelivered."""
    _die_once(run, seq)


@task(name="faults.die_once_with_defaults")
def die_once_with_defaults(run: str, seq: int, **kwargs) -> None:
    """Die on the first delivery, with the project's default task settings."""
    _die_once(run, seq)


@task(name="faults.overrun", soft_time_limit=1, time_limit=30)
def overrun(run: str, **kwargs) -> None:
    """Sleep well past the one-second soft time limit."""
    time.sleep(20)
    redis_client(settings.REDIS_URL).hincrby(effects_key(run), "overran", 1)


def _slow_chunks(chunks: int, pause: float):
    for _ in range(chunks):
        yield b"x" * 1024
        time.sleep(pause)


@task(name="faults.slow_write", soft_time_limit=1, time_limit=30)
def slow_write(run: str, path: str, **kwargs) -> None:
    """Write a file through the project's atomic writer for 10 s: the soft limit cuts it."""
    write_atomically(path, _slow_chunks(chunks=50, pause=0.2))
    redis_client(settings.REDIS_URL).hincrby(effects_key(run), "written", 1)
