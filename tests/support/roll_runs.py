"""Roll runs for the fault scenarios: start one, watch it, count the voters it printed."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from django.db import connection
from pypdf import PdfReader

from tests.support.waiting import wait_until
from voterroll import rolls, run_files, tasks
from voterroll.models import RollRun, Station, Voter
from voterroll.seeding import seed_voters

# 2,000 voters in stations of at most 10: just over 200 stations, each a small book.
VOTERS = 2_000
STATION_MAX = 10
ROLL_TIMEOUT = 240


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

    def where_it_stopped() -> str:
        undrawn = Station.objects.filter(run=run, rendered_at__isnull=True)
        return (
            f"run {run.id} to end: still {run.state}, "
            f"{run.stations_done}/{run.stations_count} stations counted; not drawn: "
            f"{list(undrawn.values_list('id', flat=True))}"
        )

    wait_until(
        lambda: not state_of(run).is_active,
        timeout=timeout,
        interval=0.2,
        what=where_it_stopped,
    )


def voters_in_books(run: RollRun) -> Counter:
    """How many times each voter number is printed across the run's station books, read
    from the rolls storage (local folders or object storage)."""
    numbers = set(Voter.objects.values_list("number", flat=True))
    storage, folder = run_files.storage(), run_files.run_folder(run.id)
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


def record_voters(
    fault_row,
    run: RollRun,
    *,
    scenario: str,
    done: str,
    recovery_s: float,
    whole_after: tuple[int, str] | None = None,
):
    """Record the scenario's row from the voters printed, and require each exactly once.

    ``whole_after`` (stations done when the fault struck, the fault's name) also requires
    the run done, struck mid-run, with only whole files left.
    """
    if whole_after is not None:
        assert_done_whole_after(run, *whole_after)
    seen = voters_in_books(run)
    numbers = sorted(Voter.objects.values_list("number", flat=True))
    row = fault_row(
        scenario=scenario,
        done=done,
        expected=len(numbers),
        seen={index: seen[number] for index, number in enumerate(numbers) if seen[number]},
        recovery_s=recovery_s,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    return row


def wait_for_drawing_to_resume(run: RollRun, done_before: int, timeout: float = 120) -> None:
    """Wait until a station more than ``done_before`` is counted, or the run has ended."""
    wait_until(
        lambda: state_of(run).stations_done > done_before or not run.is_active,
        timeout=timeout,
        what="rendering to resume",
    )


def assert_done_whole_after(run: RollRun, done_at_fault: int, fault: str) -> None:
    """The run ended done, the fault struck while it drew, and only whole files are left."""
    assert run.state == "done", run.error
    assert run.stations_count >= 200
    assert done_at_fault < run.stations_count, f"the run finished before the {fault}"
    assert_only_complete_files(Path(run_files.location(run_files.run_folder(run.id))))
