"""Signal workers mid-task: a deploy's SIGTERM, and SIGKILL of a prefork child."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.faults.tasks import count, die_always, die_once
from tests.processes import worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until
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
        wait_until(
            lambda: redis().scard(f"faults:{run}:started") >= 2,
            timeout=60,
            what="two tasks in flight",
        )
        in_flight = {int(seq) for seq in redis().smembers(f"faults:{run}:started")}
        signalled = time.monotonic()
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        # Celery removes its pidfile as the last step of a warm shutdown.
        wait_until(lambda: not pidfile.exists(), timeout=60, what="the warm shutdown")
    finished_before_exit = set(effects(run))

    with worker_process(faults_env, args=TASKS):
        wait_until(lambda: len(effects(run)) >= messages, timeout=120, what="every message")
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


@pytest.mark.faults
def test_a_killed_childs_task_is_sent_again_and_runs_once(faults_env, publish, run, fault_row):
    messages = 3
    started = time.monotonic()
    with worker_process(faults_env, args=TASKS):
        results = [publish(die_once, run, seq) for seq in range(messages)]
        wait_until(
            lambda: all(r.state == "SUCCESS" for r in results),
            timeout=120,
            what="every message to run again after its child died",
        )
    recovery = time.monotonic() - started

    row = fault_row(
        scenario="SIGKILL child",
        done="each message's first run SIGKILLs its prefork child",
        expected=messages,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0


@pytest.mark.faults
def test_a_message_that_kills_every_child_fails_after_max_retries(
    faults_env, publish, run, fault_row
):
    started = time.monotonic()
    with worker_process(faults_env, args=TASKS):
        result = publish(die_always, run, 0)
        wait_until(
            lambda: result.state == "FAILURE", timeout=120, what="the poison message to fail"
        )
        wait_until(
            lambda: redis().hget(f"faults:{run}:killed", "0") is not None,
            timeout=10,
            what="on_killed in the worker's main process",
        )
        # The worker is still consuming: a healthy message after the poison one runs.
        publish(die_once, run, 1)
        wait_until(lambda: 1 in effects(run), timeout=60, what="the next message")
    recovery = time.monotonic() - started

    deliveries = int(redis().hget(f"faults:{run}:deliveries", "0"))
    fault_row(
        scenario="poison message (kills every child)",
        done=f"failed after {deliveries} deliveries (max_retries=2); the worker went on",
        expected=1,
        seen={1: effects(run)[1]},
        recovery_s=recovery,
    )
    assert deliveries == 3
    assert redis().hget(f"faults:{run}:killed", "0") == b"WorkerLostError"
    assert "SIGKILL" in str(result.result)
