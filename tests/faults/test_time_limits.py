"""A task past its soft time limit fails with the reason, and its worker keeps working."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django_celery_results.models import TaskResult

from tests.faults.tasks import count, effects_key, overrun
from tests.processes import worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis


@pytest.mark.faults
def test_a_task_over_its_soft_time_limit_is_recorded_as_failed_and_the_worker_lives_on(
    faults_env, publish, run, fault_row
):
    with worker_process(faults_env, args=("--include", "tests.faults.tasks")):
        started = time.monotonic()
        result = publish(overrun, run)
        assert isinstance(result.get(timeout=60, propagate=False), SoftTimeLimitExceeded)
        publish(count, run, 0)
        wait_until(lambda: len(effects(run)) == 1, timeout=60, what="the next task")
        recovery = time.monotonic() - started

    stored = TaskResult.objects.get(task_id=result.id)
    row = fault_row(
        scenario="soft time limit",
        done="a task slept past its 1 s soft limit; then one more task ran",
        expected=1,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert stored.status == "FAILURE"
    assert "SoftTimeLimitExceeded" in stored.result
    assert not redis().hexists(effects_key(run), "overran")
    assert row["lost"] == 0
