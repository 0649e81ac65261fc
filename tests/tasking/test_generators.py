"""Chunked generators: sparse ids each processed once, bounded queue, resumption after SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from project.celery import app
from tasking import generators, outbox
from tasking.models import GeneratorJob
from tests.processes import worker_process
from tests.support.waiting import wait_until
from tests.tasking.tasks import CHUNK_QUEUE, GENERATOR_QUEUE, TASK_MODULES, redis


def make_sparse_users(count: int) -> list[int]:
    """Create users and delete every third, leaving gaps in the ids; return the ids left."""
    User.objects.bulk_create(User(username=f"user{i}") for i in range(count))
    ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    User.objects.filter(pk__in=ids[::3]).delete()
    return [pk for pk in ids if pk not in set(ids[::3])]


def processed(run: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in redis().hgetall(run).items()}


def job_state(job: GeneratorJob) -> str:
    job.refresh_from_db()
    return job.state


def finished(job: GeneratorJob, run: str, ids: list[int]) -> bool:
    """Whether the job is done and every row's chunk task has run."""
    return job_state(job) == GeneratorJob.State.DONE and len(processed(run)) >= len(ids)


class Consuming:
    """Make the in-process worker consume a queue for the duration of a block."""

    def __init__(self, worker, queue: str) -> None:
        self.worker, self.queue = worker, queue

    def __enter__(self) -> None:
        app.control.add_consumer(self.queue, destination=[self.worker.hostname], reply=True)

    def __exit__(self, *exc_info: object) -> None:
        app.control.cancel_consumer(self.queue, destination=[self.worker.hostname], reply=True)


def test_every_sparse_row_is_processed_once_and_the_queue_stays_bounded(worker, run):
    ids = make_sparse_users(120)
    depths: list[int] = []

    job = generators.start("tests.record_users", {"run": run})
    assert job.rows_total == len(ids)
    with Consuming(worker, GENERATOR_QUEUE):
        # Nobody consumes the chunks yet: the job must stop at the queue limit and wait.
        wait_until(lambda: job_state(job) == GeneratorJob.State.WAITING, what="backpressure")
        for _ in range(10):
            depths.append(generators.queue_depth(CHUNK_QUEUE))
            time.sleep(0.1)
        assert job.rows_done < len(ids)
        with Consuming(worker, CHUNK_QUEUE):

            def finished_depth_noted() -> bool:
                depths.append(generators.queue_depth(CHUNK_QUEUE))
                return finished(job, run, ids)

            wait_until(finished_depth_noted, timeout=60, interval=0.1, what="the job to finish")

    assert processed(run) == dict.fromkeys(ids, 1)
    assert job.rows_done == len(ids)
    # Limit 6 plus one batch (20 rows in chunks of 5 = 4 messages).
    assert max(depths) <= 6 + 4
    assert job.max_queue_depth <= 6 + 4
    assert max(depths) >= 6, "the queue never reached the limit; backpressure went untested"


def test_a_duplicate_step_message_does_nothing(transactional_db, run):
    make_sparse_users(30)
    job = generators.start("tests.record_users", {"run": run})
    generators.advance(job_id=job.pk, step=0)
    job.refresh_from_db()
    assert (job.step, job.rows_done) == (1, 20)

    generators.advance(job_id=job.pk, step=0)

    job.refresh_from_db()
    assert (job.step, job.rows_done) == (1, 20)


@pytest.mark.faults
def test_a_job_killed_mid_way_resumes_and_processes_every_row_once(worker, subprocess_env, run):
    ids = make_sparse_users(600)
    env = {**subprocess_env, "WORKER_QUEUES": GENERATOR_QUEUE, "TASKING_LOCK_TTL": "3"}
    args = ("--include", TASK_MODULES, "--pool", "solo")

    with Consuming(worker, CHUNK_QUEUE):
        with worker_process(env, args=args) as node:
            pid = app.control.inspect([node]).stats()[node]["pid"]
            job = generators.start("tests.record_users", {"run": run})
            wait_until(lambda: (job.refresh_from_db() or job.rows_done) > 0, what="a step")
            os.kill(pid, signal.SIGKILL)
        job.refresh_from_db()
        assert job.rows_done < len(ids), "the job finished before it could be killed"

        with worker_process(env, args=args):

            def finished_after_relay() -> bool:
                # What beat would do: publish rows the dead worker committed but never sent.
                outbox.relay(older_than=timedelta(seconds=1))
                return finished(job, run, ids)

            wait_until(
                finished_after_relay,
                timeout=90,
                interval=0.3,
                what=lambda: f"the job to finish (stuck at {job.rows_done} rows)",
            )

    assert processed(run) == dict.fromkeys(ids, 1)
    assert job.rows_done == len(ids)


@pytest.mark.django_db
def test_unfinished_generator_jobs_show_on_the_tasks_dashboard(admin_client):
    from tasking.models import GeneratorJob

    job = GeneratorJob.objects.create(name="accounts.email_users", state="waiting", rows_done=40)
    GeneratorJob.objects.create(name="finished", state="done")

    page = admin_client.get("/tasks/").content.decode()

    assert f"accounts.email_users #{job.pk}" in page
    assert "finished #" not in page


@pytest.mark.django_db
def test_chunk_tasks_report_outcomes_and_the_job_keeps_the_first_reasons():
    job = GeneratorJob.objects.create(name="sparse_users", rows_total=12, rows_done=12)
    job.state = GeneratorJob.State.DONE
    job.save()

    generators.record_outcome(job_id=job.pk, succeeded=3, failures=["a", "b", "c", "d"])
    job.refresh_from_db()
    assert not job.all_ended
    generators.record_outcome(job_id=job.pk, succeeded=2, failures=["e", "f", "g"])

    job.refresh_from_db()
    assert (job.rows_succeeded, job.rows_failed, job.rows_ended) == (5, 7, 12)
    assert job.failures == ["a", "b", "c", "d", "e"]
    assert job.all_ended
    assert job.ended_percent == 100
