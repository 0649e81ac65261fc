"""Restart the suite's own RabbitMQ node while a worker drains a full queue."""

from __future__ import annotations

import time

import pytest

from tests.faults.tasks import count
from tests.processes import worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until

# 5,000: the figure, a backlog far larger than anything in flight at the restart.
MESSAGES = 5_000


@pytest.mark.faults
def test_every_queued_message_runs_after_a_broker_restart(
    faults_env, own_rabbitmq, publish, run, fault_row
):
    for seq in range(MESSAGES):
        publish(count, run, seq)
    with worker_process(faults_env, args=("--include", "tests.faults.tasks")):
        wait_until(lambda: len(effects(run)) >= 100, timeout=120, what="the worker to start")

        own_rabbitmq.stop()
        before = len(effects(run))
        own_rabbitmq.start()
        up = time.monotonic()
        wait_until(lambda: len(effects(run)) > before, timeout=120, what="the worker to reconnect")
        recovery = time.monotonic() - up
        wait_until(lambda: len(effects(run)) >= MESSAGES, timeout=240, what="every message")

    row = fault_row(
        scenario="broker restart",
        done=f"restarted RabbitMQ with {MESSAGES - before} of {MESSAGES} queued",
        expected=MESSAGES,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    # Duplicates are counted in the table but not yet asserted: about one run in four, a
    # task cancelled on the connection loss (worker_cancel_long_running_tasks_on_
    # connection_loss) dies between its effect and run_once's done marker, and its
    # redelivery runs again (seen: 1 of 5,000). Closing that window is issue #8's work.
    assert before < MESSAGES, "the queue drained before the restart; nothing was tested"
