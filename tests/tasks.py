"""Tasks that exist only for the test suite; workers load them with ``--include tests.tasks``."""

import logging
import os
import time

from django.conf import settings

from tasking.base import task
from tasking.connections import redis_client

logger = logging.getLogger(__name__)


@task(name="tests.add")
def add(x: int, y: int, **kwargs) -> int:
    """Add two numbers."""
    logger.info("adding %s and %s", x, y)
    return x + y


@task(name="tests.total")
def total(values: list[int], **kwargs) -> int:
    """Sum a chord header's results."""
    return sum(values)


@task(name="tests.outcome")
def outcome(kind: str, **kwargs) -> str:
    """Succeed, or fail with ValueError when asked to."""
    if kind == "fail":
        raise ValueError("asked to fail")
    return kind


@task(name="tests.retry_once", bind=True, max_retries=1)
def retry_once(self, **kwargs) -> str:
    """Ask to be retried on the first run, succeed on the second."""
    if self.request.retries == 0:
        # Not 0: Celery publishes the retry before storing RETRY, so an immediate
        # rerun on another thread could finish first and have SUCCESS overwritten.
        raise self.retry(countdown=1)
    return "retried"


@task(name="tests.whoami")
def whoami(pause: float = 0.0, **kwargs) -> int:
    """Return the pid of the process that ran this, after a pause."""
    time.sleep(pause)
    return os.getpid()


@task(name="tests.database_backend_pid")
def database_backend_pid(**kwargs) -> int:
    """Return the PostgreSQL server process serving this task's database connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@task(name="tests.count_run", ignore_result=True)
def count_run(run: str, seq: int, pause: float = 0.0, **kwargs) -> None:
    """Count a start of message ``seq`` of ``run``, pause, then count a run of it.

    No run-once guard: every delivery that runs is counted, so a duplicate shows.
    """
    client = redis_client(settings.REDIS_URL)
    client.hincrby(f"{run}:starts", str(seq), 1)
    time.sleep(pause)
    client.hincrby(f"{run}:runs", str(seq), 1)
