"""Roll runs through faults: the worker's main process killed, the database stopped."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from django.db import connection
from pypdf import PdfReader

from tests.faults.conftest import wait_for
from tests.faults.postgres import wait_until_up
from tests.processes import web_process, worker_process
from voterroll import rolls, tasks
from voterroll.models import RollRun, Station, Voter
from voterroll.seeding import seed_voters

# 2,000 voters in stations of at most 10: just over 200 stations, each a small book.
VOTERS = 2_000
STATION_MAX = 10
ROLL_TIMEOUT = 240


@pytest.fixture
def roll_env(faults_env, tmp_path, settings):
    """Workers consume the pdf queue too and write roll files under this test's folder."""
    settings.ROLLS_ROOT = tmp_path / "rolls"
    return {
        **faults_env,
        "WORKER_QUEUES": "faults,pdf",
        "ROLLS_ROOT": str(settings.ROLLS_ROOT),
        "ROLL_STATION_MAX": str(STATION_MAX),
    }


def start_roll(publish, strategy: str = "per_station") -> RollRun:
    seed_voters(voters=VOTERS, centers=4, seed=11, locale="en", replace=False)
    run = rolls.create_run(strategy=strategy)
    publish(tasks.start_run, run.id)
    return run


def state_of(run: RollRun) -> RollRun:
    """The run as stored now; reconnects if the database went away under this process."""
    connection.close_if_unusable_or_obsolete()
    run.refresh_from_db()
    return run


def wait_for_end(run: RollRun, timeout: float = ROLL_TIMEOUT) -> None:
    """Wait until the run is done, failed or cancelled; fail saying where it stopped."""
    deadline = time.monotonic() + timeout
    while state_of(run).is_active:
        if time.monotonic() > deadline:
            undrawn = Station.objects.filter(run=run, rendered_at__isnull=True)
            raise AssertionError(
                f"run {run.id} still {run.state} after {timeout} s, "
                f"{run.stations_done}/{run.stations_count} stations counted; not drawn: "
                f"{list(undrawn.values_list('id', flat=True))}"
            )
        time.sleep(0.2)


def voters_in_books(run: RollRun) -> Counter:
    """How many times each voter number is printed across the run's station books, read
    from the rolls storage (local folders or object storage)."""
    numbers = set(Voter.objects.values_list("number", flat=True))
    storage, folder = rolls.storage(), rolls.run_folder(run.id)
    seen: Counter = Counter()
    for center in storage.listdir(folder)[0]:
        for name in storage.listdir(f"{folder}/{center}")[1]:
            if not (name.startswith("station-") and name.endswith(".pdf")):
                continue
            with storage.open(f"{folder}/{center}/{name}") as book:
                pages = PdfReader(io.BytesIO(book.read())).pages
            for page in pages[1:]:
                seen.update(word for word in page.extract_text().split() if word in numbers)
    return seen


def assert_only_complete_files(folder: Path) -> None:
    """Every PDF under the run folder parses to its end; no temporary file is left."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert not [p.name for p in files if p.name.startswith(".") or p.suffix == ".tmp"]
    for path in files:
        if path.suffix == ".pdf":
            data = path.read_bytes()
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
            assert len(PdfReader(io.BytesIO(data), strict=True).pages) >= 1, path
    metadata = json.loads((folder / "metadata.json").read_text())
    assert {entry["path"] for entry in metadata["files"]} == {
        p.relative_to(folder).as_posix() for p in files if p.suffix == ".pdf"
    }


def record_voters(fault_row, run: RollRun, *, scenario: str, done: str, recovery_s: float):
    seen = voters_in_books(run)
    numbers = sorted(Voter.objects.values_list("number", flat=True))
    return fault_row(
        scenario=scenario,
        done=done,
        expected=len(numbers),
        seen={index: seen[number] for index, number in enumerate(numbers) if seen[number]},
        recovery_s=recovery_s,
    )


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
        wait_for(
            lambda: state_of(run).stations_done >= 40,
            timeout=ROLL_TIMEOUT,
            message="40 stations drawn",
        )
        main = int(pidfile.read_text())
        pool = children(main)
        killed = time.monotonic()
        os.kill(main, signal.SIGKILL)
        # Prefork children get SIGKILL when the main process dies (PR_SET_PDEATHSIG).
        wait_for(lambda: not any(map(alive, pool)), timeout=30, message="the pool to die")
    done_at_kill = state_of(run).stations_done

    with worker_process(roll_env):
        wait_for_end(run)
    recovery = time.monotonic() - killed

    assert run.state == "done", run.error
    assert run.stations_count >= 200
    assert done_at_kill < run.stations_count, "the run finished before the kill"
    assert_only_complete_files(Path(rolls.location(rolls.run_folder(run.id))))
    row = record_voters(
        fault_row,
        run,
        scenario="SIGKILL worker main process",
        done=f"killed at {done_at_kill}/{run.stations_count} stations; a new worker finished",
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0


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
        wait_for(
            lambda: state_of(run).stations_done >= 20,
            timeout=ROLL_TIMEOUT,
            message="20 stations drawn",
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
        wait_for(
            lambda: state_of(run).stations_done > done_at_restart or not run.is_active,
            timeout=120,
            message="rendering to resume",
        )
        recovery = time.monotonic() - restarted
        wait_for(lambda: database_check(base), timeout=30, message="/healthz to see the database")
        wait_for_end(run)

    assert down_reports and all(down_reports), "/healthz did not report the database down"
    assert run.state == "done", run.error
    assert done_at_restart < run.stations_count, "the run finished before the outage"
    assert_only_complete_files(Path(rolls.location(rolls.run_folder(run.id))))
    row = record_voters(
        fault_row,
        run,
        scenario="PostgreSQL down 10 s" + ("" if strategy == "per_station" else f" ({strategy})"),
        done=f"stopped at {done_at_restart}/{run.stations_count} stations for 10 s",
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
