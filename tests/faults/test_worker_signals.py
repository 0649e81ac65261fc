"""Signal workers mid-task: a deploy's SIGTERM, and SIGKILL of a prefork child."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.faults.conftest import effects, wait_for
from tests.faults.tasks import count, die_once, die_once_with_defaults
from tests.processes import worker_process
from tests.tasking.tasks import redis

TASKS = ("--include", "tests.faults.tasks")


@pytest.mark.faults
def test_a_sigterm_lets_in_flight_tasks_finish_and_leaves_the_rest_queued(
    faults_env, publish, run, fault_row, tmp_path
):
    messages = 6
    pidfile = tmp_path / "worker.pid"
    for seq in range(messages):
        publish(count, run, seq, pause=3)

    with worker_process(faults_env, args=(*TASKS, "--pidfile", str(pidfile))):
        wait_for(
            lambda: redis().scard(f"faults:{run}:started") >= 2,
            timeout=60,
            message="two tasks in flight",
        )
        in_flight = {int(seq) for seq in redis().smembers(f"faults:{run}:started")}
        signalled = time.monotonic()
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        # Celery removes its pidfile as the last step of a warm shutdown.
        wait_for(lambda: not pidfile.exists(), timeout=60, message="the warm shutdown")
    finished_before_exit = set(effects(run))

    with worker_process(faults_env, args=TASKS):
        wait_for(lambda: len(effects(run)) >= messages, timeout=120, message="every message")
    recovery = time.monotonic() - signalled

    row = fault_row(
        scenario="SIGTERM worker",
        done=f"SIGTERM with {len(in_flight)} in flight; a new worker took the rest",
        expected=messages,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert in_flight <= finished_before_exit
    assert row["lost"] == 0
    assert row["duplicated"] == 0


def kill_children(faults_env, publish, run, task) -> tuple[dict[int, int], float]:
    """Run three messages whose first delivery SIGKILLs its child; return the effects."""
    messages = 3
    started = time.monotonic()
    with worker_process(faults_env, args=TASKS):
        results = [publish(task, run, seq) for seq in range(messages)]
        for result in results:
            result.get(timeout=120, propagate=False)
        # A redelivered message's first result is its failure; wait for its rerun.
        wait_for(
            lambda: len(effects(run)) >= messages or all(r.state == "FAILURE" for r in results),
            timeout=120,
            message="every message to succeed or fail",
        )
        return effects(run), time.monotonic() - started


@pytest.mark.faults
def test_a_killed_childs_task_with_reject_on_worker_lost_is_redelivered(
    faults_env, publish, run, fault_row
):
    seen, recovery = kill_children(faults_env, publish, run, die_once)

    row = fault_row(
        scenario="SIGKILL child (reject_on_worker_lost)",
        done="each message's first run SIGKILLs its prefork child",
        expected=3,
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0


@pytest.mark.faults
@pytest.mark.xfail(
    strict=True,
    reason="acks_late alone acks a message whose child died (WorkerLostError): "
    "without task_reject_on_worker_lost it is recorded as failed, not redelivered",
)
def test_a_killed_childs_task_with_the_project_defaults_is_redelivered(
    faults_env, publish, run, fault_row
):
    seen, recovery = kill_children(faults_env, publish, run, die_once_with_defaults)

    row = fault_row(
        scenario="SIGKILL child (project defaults)",
        done="each message's first run SIGKILLs its prefork child",
        expected=3,
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
