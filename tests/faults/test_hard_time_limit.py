"""A task killed at its hard time limit is recorded by the worker's main process."""

from __future__ import annotations

import time

import pytest
from django_celery_results.models import TaskResult

from tests.faults.tasks import count, effects_key, swallow_soft_limit
from tests.processes import worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis


@pytest.mark.faults
def test_a_task_killed_at_its_hard_limit_fails_through_on_killed(
    faults_env, publish, run, fault_row
):
    with worker_process(faults_env, args=("--include", "tests.faults.tasks")):
        started = time.monotonic()
        result = publish(swallow_soft_limit, run, 0)
        wait_until(
            lambda: redis().hget(f"faults:{run}:killed", "0") is not None,
            timeout=60,
            what="on_killed after the hard time limit",
        )
        publish(count, run, 1)
        wait_until(lambda: 1 in effects(run), timeout=60, what="the next task")
        recovery = time.monotonic() - started

    stored = TaskResult.objects.get(task_id=result.id)
    row = fault_row(
        scenario="hard time limit",
        done="a task swallowed its soft limit and was killed at 2 s; then one more ran",
        expected=1,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert redis().hget(f"faults:{run}:killed", "0") == b"TimeLimitExceeded"
    assert stored.status == "FAILURE"
    assert "TimeLimitExceeded" in stored.result
    assert not redis().hexists(effects_key(run), "overran")
    assert row["lost"] == 0
