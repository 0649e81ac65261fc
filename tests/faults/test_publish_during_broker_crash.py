"""SIGKILL RabbitMQ while a process publishes 5,000 tasks through the outbox: none is lost."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tasking import markers
from tasking.models import OutboxMessage
from tasking.tasks import relay_outbox
from tests.faults.tasks import count
from tests.processes import ROOT, worker_process
from tests.support.faults import effects
from tests.support.waiting import wait_until
from tests.tasking.tasks import redis

# 5,000: the figure; publishing them takes long enough to crash the node mid-stream.
MESSAGES = 5_000
# Rows written before the crash, so it lands in the middle of the stream.
CRASH_AFTER = 500


@pytest.mark.faults
def test_publishes_across_a_broker_crash_run_or_stay_in_the_outbox_for_the_relay(
    faults_env, own_rabbitmq, publish, run, fault_row, tmp_path
):
    rows = OutboxMessage.objects.filter(task_name=count.name, args__0=run)
    log = (tmp_path / "publisher.log").open("w")
    publisher = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.publisher", run, str(MESSAGES)],
        cwd=ROOT,
        env=faults_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: rows.count() >= CRASH_AFTER, timeout=120, what="the first rows")
        own_rabbitmq.kill()
        at_crash = rows.count()
        # Down for a few seconds: every publish meanwhile fails after its retries.
        time.sleep(3)
        own_rabbitmq.start()
        up = time.monotonic()
        assert publisher.wait(timeout=300) == 0, (tmp_path / "publisher.log").read_text()[-3000:]
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()
        log.close()
    assert at_crash < MESSAGES, "the publisher finished before the crash; nothing was tested"
    assert rows.count() == MESSAGES
    unsent = rows.filter(sent_at__isnull=True).count()

    try:
        with worker_process(faults_env, args=("--include", "tests.faults.tasks")):
            # What beat's relay_outbox entry does every minute, at once and until it is done.
            while rows.filter(sent_at__isnull=True).exists():
                publish(relay_outbox, 0).get(timeout=120)
            wait_until(lambda: len(effects(run)) >= MESSAGES, timeout=300, what="every message")
            recovery = time.monotonic() - up
    finally:
        done = [
            markers.marker_key("done", count.name, str(t))
            for t in rows.values_list("task_id", flat=True)
        ]
        for start in range(0, len(done), 1000):
            redis().delete(*done[start : start + 1000])

    row = fault_row(
        scenario="broker crash while publishing",
        done=f"SIGKILLed RabbitMQ after {at_crash} of {MESSAGES} outbox publishes; "
        f"{unsent} left unsent for the relay",
        expected=MESSAGES,
        seen=effects(run),
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert unsent > 0, "no publish failed while the node was down; the crash was not seen"
