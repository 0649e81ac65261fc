"""Tasks the tasking tests run; subprocess workers load them with ``--include``."""

from __future__ import annotations

import os
import time

from celery.exceptions import Reject
from django.conf import settings
from django.db.models import QuerySet

from tasking.base import task
from tasking.connections import redis_client
from tasking.dedup import Deduplicate
from tasking.generators import ChunkedGenerator, register
from tasking.locks import SingleInstance

# What subprocess workers of the tasking tests load with --include.
TASK_MODULES = "tests.tasks,tests.tasking.tasks"

# Queues no default worker consumes, so a test decides who runs what and when.
DEDUP_QUEUE = "tests-dedup"
CHUNK_QUEUE = "tests-chunks"
GENERATOR_QUEUE = "tests-generator"


def redis():
    return redis_client(settings.REDIS_URL)


def record(name: str, value: object) -> None:
    redis().rpush(name, str(value))


def starts_and_ends(name: str) -> list[tuple[float, float]]:
    """Return the (start, end) pairs recorded under ``name``, in order of start."""
    pairs = [
        tuple(map(float, item.split())) for item in map(bytes.decode, redis().lrange(name, 0, -1))
    ]
    return sorted(pairs)  # type: ignore[arg-type]


@task(
    name="tests.hold_lock",
    single_instance=SingleInstance(key="resource", ttl=3, when_busy="retry", retry_after=0.2),
)
def hold_lock(resource: str, seconds: float, run: str, **kwargs) -> None:
    """Hold the resource's lock for a while, recording when the run starts and ends."""
    record(f"{run}:pid", os.getpid())
    start = time.time()
    time.sleep(seconds)
    record(run, f"{start} {time.time()}")


@task(name="tests.hold_lock_or_skip", single_instance=SingleInstance(key="resource", ttl=3))
def hold_lock_or_skip(resource: str, seconds: float, run: str, **kwargs) -> None:
    """Hold the resource's lock for a while; runs that find it busy are skipped."""
    record(run, "ran")
    time.sleep(seconds)


@task(name="tests.deduplicated", deduplicate=Deduplicate(key=("item_id", "run")))
def deduplicated(item_id: int, run: str, **kwargs) -> None:
    """Record one run for the item."""
    record(run, item_id)


@task(name="tests.rate_limited", bind=True, cluster_rate_limit="5/1s", max_retries=1)
def rate_limited(self, run: str, **kwargs) -> int:
    """Record when the run starts and where; return how many retries it used."""
    record(run, repr(time.time()))
    record(f"{run}:pid", os.getpid())
    return self.request.retries


@task(name="tests.record_rows", run_once=True)
def record_rows(ids: list[int], run: str, **kwargs) -> None:
    """Count one processing of each row id."""
    pipe = redis().pipeline()
    for row_id in ids:
        pipe.hincrby(run, str(row_id), 1)
    pipe.execute()


def all_users(params: dict) -> QuerySet:
    from django.contrib.auth.models import User

    return User.objects.all()


# Small sizes so a few hundred rows take many steps and the queue limit is reached.
sparse_users = register(
    ChunkedGenerator(
        name="tests.record_users",
        rows=all_users,
        task="tests.record_rows",
        chunk_size=5,
        batch_size=20,
        max_queue_depth=6,
        pause=0.3,
        step_queue=GENERATOR_QUEUE,
        queue=CHUNK_QUEUE,
    )
)


@task(name="tests.poison", bind=True)
def poison(self, run: str, **kwargs) -> str:
    """Hand the message back to its queue while ``<run>:poisoned`` is set, else record a run."""
    if redis().exists(f"{run}:poisoned"):
        record(f"{run}:deliveries", self.request.id)
        raise Reject("poisoned", requeue=True)
    record(run, self.request.id)
    return "ran"
