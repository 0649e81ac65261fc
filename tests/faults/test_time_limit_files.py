"""A write cut short by its task's soft time limit leaves no temporary file behind."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django_celery_results.models import TaskResult

from tests.faults.tasks import count, effects_key, slow_write
from tests.processes import worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis

# Three writes in a row, each interrupted a second or two into its ten.
WRITES = 3


@pytest.mark.faults
def test_a_write_over_its_soft_time_limit_leaves_no_temporary_file_and_the_worker_lives_on(
    faults_env, publish, run, tmp_path, fault_row
):
    folder = tmp_path / "media"
    folder.mkdir()
    with worker_process(faults_env, args=("--include", "tests.faults.tasks")):
        started = time.monotonic()
        results = [publish(slow_write, run, str(folder / f"file-{n}.bin")) for n in range(WRITES)]
        outcomes = [r.get(timeout=90, interval=0.1, propagate=False) for r in results]
        publish(count, run, 0)
        wait_until(lambda: len(effects(run)) == 1, timeout=60, what="the next task")
        recovery = time.monotonic() - started

    left = sorted(p.name for p in folder.iterdir())
    stored = TaskResult.objects.filter(task_id__in=[r.id for r in results])
    row = fault_row(
        scenario="soft time limit: files",
        done=f"{WRITES} atomic writes cut short by a 1 s soft limit; then one more task ran",
        expected=1,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert all(isinstance(outcome, SoftTimeLimitExceeded) for outcome in outcomes)
    assert [s.status for s in stored] == ["FAILURE"] * WRITES
    assert all("SoftTimeLimitExceeded" in s.result for s in stored)
    assert left == [], f"left behind: {left}"
    assert not redis().hexists(effects_key(run), "written")
    assert row["lost"] == 0
