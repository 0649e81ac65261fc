"""Roll runs through faults: the worker's main process killed, the database stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from tests.faults.postgres import wait_until_up
from tests.processes import web_process, worker_process
from tests.support.roll_runs import (
    ROLL_TIMEOUT,
    assert_only_complete_files,
    record_voters,
    start_roll,
    state_of,
    wait_for_drawing_to_resume,
    wait_for_end,
)
from tests.support.waiting import wait_until
from voterroll import run_files


def children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in listed.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return stat[0] != "Z"


@pytest.mark.faults
def test_a_new_worker_finishes_a_roll_whose_worker_was_sigkilled(
    roll_env, publish, fault_row, tmp_path
):
    pidfile = tmp_path / "worker.pid"
    run = start_roll(publish)

    with worker_process(roll_env, args=("--pidfile", str(pidfile))):
        wait_until(
            lambda: state_of(run).stations_done >= 40,
            timeout=ROLL_TIMEOUT,
            what="40 stations drawn",
        )
        main = int(pidfile.read_text())
        pool = children(main)
        killed = time.monotonic()
        os.kill(main, signal.SIGKILL)
        # Prefork children get SIGKILL when the main process dies (PR_SET_PDEATHSIG).
        wait_until(lambda: not any(map(alive, pool)), timeout=30, what="the pool to die")
    done_at_kill = state_of(run).stations_done

    with worker_process(roll_env):
        wait_for_end(run)
    recovery = time.monotonic() - killed

    record_voters(
        fault_row,
        run,
        whole_after=(done_at_kill, "kill"),
        scenario="SIGKILL worker main process",
        done=f"killed at {done_at_kill}/{run.stations_count} stations; a new worker finished",
        recovery_s=recovery,
    )


def database_check(base: str) -> bool:
    """Whether the web process's /healthz says the database is up."""
    try:
        with urlopen(f"{base}/healthz", timeout=10) as response:  # noqa: S310 - local
            body = json.load(response)
    except HTTPError as error:  # 503: something is down; the body still says what
        body = json.load(error)
    # Anonymous: ok or down per part.
    return body["checks"]["database"] == "ok"


@pytest.mark.faults
# starmap draws every station inside one task, where Celery's own retry cannot resend a
# station: the outage is ridden out in place instead.
@pytest.mark.parametrize("strategy", ["per_station", "starmap"])
def test_a_roll_survives_ten_seconds_without_its_database(
    own_database, own_postgres, roll_env, publish, fault_row, strategy
):
    # One worker process, and the roll started only once /healthz has answered: a station
    # book takes a few milliseconds, and the run must still be drawing when the database
    # goes away.
    env = {**roll_env, "DATABASE_URL": own_database, "WORKER_CONCURRENCY": "1"}

    with web_process(env) as base, worker_process(env):
        assert database_check(base)
        run = start_roll(publish, strategy)
        wait_until(
            lambda: state_of(run).stations_done >= 20,
            timeout=ROLL_TIMEOUT,
            what="20 stations drawn",
        )
        own_postgres.stop()
        stopped = time.monotonic()
        down_reports = []
        while time.monotonic() - stopped < 10:
            down_reports.append(not database_check(base))
            time.sleep(1)
        own_postgres.start()
        wait_until_up(own_postgres)
        restarted = time.monotonic()
        done_at_restart = state_of(run).stations_done
        wait_for_drawing_to_resume(run, done_at_restart)
        recovery = time.monotonic() - restarted
        wait_until(lambda: database_check(base), timeout=30, what="/healthz to see the database")
        wait_for_end(run)

    assert down_reports and all(down_reports), "/healthz did not report the database down"
    assert run.state == "done", run.error
    assert done_at_restart < run.stations_count, "the run finished before the outage"
    assert_only_complete_files(Path(run_files.location(run_files.run_folder(run.id))))
    record_voters(
        fault_row,
        run,
        scenario="PostgreSQL down 10 s" + ("" if strategy == "per_station" else f" ({strategy})"),
        done=f"stopped at {done_at_restart}/{run.stations_count} stations for 10 s",
        recovery_s=recovery,
    )
