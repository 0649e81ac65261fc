"""A three-node RabbitMQ cluster with quorum queues: losing nodes loses and repeats nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tasking import markers
from tasking.models import OutboxMessage
from tasking.tasks import relay_outbox
from tests.faults.rabbitmq import OwnRabbitCluster
from tests.faults.tasks import count
from tests.processes import ROOT, beat_process, worker_process
from tests.support.faults import effects
from tests.support.roll_runs import (
    record_voters,
    start_roll,
    state_of,
    wait_for_end,
)
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis

# 5,000: the figure, published and consumed at once while a node dies.
MESSAGES = 5_000
# 1,000 while two of three nodes are down: enough to span the ten seconds.
MESSAGES_NO_MAJORITY = 1_000
# Seconds a scenario may take, starting the cluster included: twice what it takes on a
# loaded two-core machine, above the suite's 300.
SCENARIO_TIMEOUT = 600


def start_publisher(env: dict[str, str], run: str, messages: int, log: Path, *args: str):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.publisher", run, str(messages), *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def finish(publisher: subprocess.Popen, log: Path) -> None:
    try:
        assert publisher.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()


def relay_until_sent(publish: Callable[..., Any], rows: Any) -> None:
    """What beat's relay_outbox entry does every minute, at once and until it is done."""
    deadline = time.monotonic() + 300
    while rows.filter(sent_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the relay did not send every row in 300 s"
        publish(relay_outbox, 0).get(timeout=120)


def forget_done_markers(task_ids: list[str]) -> None:
    done = [markers.marker_key("done", count.name, str(t)) for t in task_ids]
    for start in range(0, len(done), 1000):
        redis().delete(*done[start : start + 1000])


@pytest.mark.faults
@pytest.mark.timeout(SCENARIO_TIMEOUT)
def test_sigkill_one_node_while_5000_tasks_are_published_and_consumed(
    cluster: OwnRabbitCluster, cluster_env, cluster_publish, run, fault_row, tmp_path
):
    rows = OutboxMessage.objects.filter(task_name=count.name, args__0=run)
    # The first node of the URL list: every client is connected to it when it dies.
    victim = cluster.nodes[0]
    log = tmp_path / "publisher.log"
    try:
        with worker_process(cluster_env, args=("--include", "tests.faults.tasks")):
            publisher = start_publisher(cluster_env, run, MESSAGES, log)
            wait_until(lambda: len(effects(run)) >= 1000, timeout=300, what="1,000 effects")
            victim.kill()
            killed = time.monotonic()
            at_kill = len(effects(run))
            finish(publisher, log)
            relay_until_sent(cluster_publish, rows)
            wait_until(lambda: len(effects(run)) >= MESSAGES, timeout=300, what="every effect")
            recovery = time.monotonic() - killed
            unsent = rows.filter(attempts=0).count()
    finally:
        forget_done_markers(list(rows.values_list("task_id", flat=True)))

    row = fault_row(
        scenario="cluster: SIGKILL 1 of 3 nodes",
        done=f"SIGKILLed {victim.node.split('@')[0]} after {at_kill} of {MESSAGES} effects; "
        f"{unsent} publishes left to the relay",
        expected=MESSAGES,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert at_kill < MESSAGES, "every task ran before the kill; nothing was tested"
    assert row["lost"] == 0
    assert row["duplicated"] == 0


@pytest.mark.faults
@pytest.mark.timeout(SCENARIO_TIMEOUT)
def test_sigkill_the_pdf_queues_leader_during_a_200_station_roll(
    cluster: OwnRabbitCluster, cluster_roll_env, cluster_publish, fault_row
):
    run = start_roll(cluster_publish)

    # Beat runs as in production: a chord callback whose publish no node confirmed while
    # the queues elected new leaders is finalized by the sweeper (or relayed from the outbox).
    with worker_process(cluster_roll_env), beat_process(cluster_roll_env):
        wait_until(lambda: state_of(run).stations_done >= 40, timeout=240, what="40 stations")
        leader = cluster.leader_of("pdf")
        leader.kill()
        killed = time.monotonic()
        done_at_leader_kill = state_of(run).stations_done
        wait_for_end(run)
    leader_recovery = time.monotonic() - killed

    record_voters(
        fault_row,
        run,
        whole_after=(done_at_leader_kill, "kill"),
        scenario="cluster: SIGKILL the pdf queue's leader",
        done=f"killed {leader.node.split('@')[0]} at {done_at_leader_kill}/{run.stations_count} "
        "stations; the others elected a leader and finished",
        recovery_s=leader_recovery,
    )


@pytest.mark.faults
@pytest.mark.timeout(SCENARIO_TIMEOUT)
def test_two_of_three_nodes_down_for_ten_seconds_publishing_waits_or_keeps_to_the_outbox(
    cluster: OwnRabbitCluster, cluster_env, cluster_publish, run, fault_row, tmp_path
):
    rows = OutboxMessage.objects.filter(task_name=count.name, args__0=run)
    env = {**cluster_env, "CELERY_PUBLISH_CONFIRM_TIMEOUT": "2"}
    log = tmp_path / "publisher.log"
    stopped = cluster.nodes[1:]
    try:
        with worker_process(env, args=("--include", "tests.faults.tasks")):
            publisher = start_publisher(env, run, MESSAGES_NO_MAJORITY, log, "--direct")
            wait_until(lambda: len(effects(run)) >= 100, timeout=300, what="100 effects")
            for node in stopped:
                node.stop()
            down = time.monotonic()
            at_stop = len(effects(run))
            time.sleep(10)
            during = len(effects(run))
            for node in stopped:
                node.start()
            finish(publisher, log)
            relay_until_sent(cluster_publish, rows)
            wait_until(
                lambda: len(effects(run)) >= MESSAGES_NO_MAJORITY,
                timeout=300,
                what="every effect",
            )
            recovery = time.monotonic() - down
            kept = rows.count()
    finally:
        forget_done_markers(list(rows.values_list("task_id", flat=True)))

    row = fault_row(
        scenario="cluster: 2 of 3 nodes down 10 s",
        done=f"stopped 2 nodes after {at_stop} effects ({during - at_stop} ran without a "
        f"majority); {kept} publishes kept in the outbox",
        expected=MESSAGES_NO_MAJORITY,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert at_stop < MESSAGES_NO_MAJORITY, "every task ran before the stop; nothing was tested"
    assert row["lost"] == 0
    assert row["duplicated"] == 0
