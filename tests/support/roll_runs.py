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
