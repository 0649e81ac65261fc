"""Roll runs end to end on a real worker, and the workflow's steps on their own."""

import hashlib
import io
import json
import os
import time
import zipfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from celery import group
from celery.exceptions import SoftTimeLimitExceeded, WorkerLostError
from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult
from pypdf import PdfReader

from tests.processes import worker_process
from tests.support.waiting import wait_until
from voterroll import drawing, packaging, rolls, run_files, services, tasks
from voterroll.models import RollRun, Station, Voter
from voterroll.seeding import seed_voters


def _wait(run: RollRun, timeout: float = 60) -> RollRun:
    def ended() -> bool:
        run.refresh_from_db()
        return not run.is_active

    wait_until(ended, timeout=timeout, interval=0.1, what=lambda: f"run {run.id} ({run.state})")
    return run


def _members(run: RollRun, media: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(media / run.zip_file) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.usefixtures("worker")
def test_per_station_run_completes_and_its_zip_matches_its_metadata(seeded, rolls_root):
    promised = rolls.forecast()
    run = services.queue_run(strategy="per_station")

    run = _wait(run)

    assert run.state == "done", run.error
    # The Rolls page tells what a run will make before it starts: exactly what it made.
    assert promised == {
        "voters": run.voters_count,
        "centers": run.centers_count,
        "stations": run.stations_count,
        "pages": run.pages_count,
    }
    assert run.voters_count == 1200 and run.stations_done == run.stations_count
    members = _members(run, rolls_root)
    metadata = json.loads(members["metadata.json"])
    assert sorted(members) == sorted(["metadata.json", *(f["path"] for f in metadata["files"])])
    for entry in metadata["files"]:
        assert hashlib.sha256(members[entry["path"]]).hexdigest() == entry["sha256"]
        assert len(members[entry["path"]]) == entry["bytes"]
    assert metadata["pages"] == run.pages_count == sum(f["pages"] for f in metadata["files"])
    zipped = (rolls_root / run.zip_file).read_bytes()
    assert hashlib.sha256(zipped).hexdigest() == run.zip_sha256
    # metadata.json beside the zip: the zip's listing, and the zip's own size and digest.
    beside = json.loads((rolls_root / run.metadata_file).read_bytes())
    zip_entry = {"path": f"roll-{run.id}.zip", "bytes": len(zipped), "sha256": run.zip_sha256}
    assert beside == {**metadata, "zip": zip_entry}
    # Every voter of the run appears exactly once across the station books.
    seen = Counter()
    numbers = set(Voter.objects.values_list("number", flat=True))
    for entry in metadata["files"]:
        if entry["kind"] == "station_book":
            pages = PdfReader(io.BytesIO(members[entry["path"]])).pages
            assert len(pages) == entry["pages"]
            for page in pages[1:]:
                seen.update(word for word in page.extract_text().split() if word in numbers)
    assert set(seen) == numbers
    assert set(seen.values()) == {1}


@pytest.mark.usefixtures("worker")
def test_every_strategy_writes_the_same_files_byte_for_byte(seeded, rolls_root):
    written = {}
    for strategy in RollRun.Strategy.values:
        run = _wait(services.queue_run(strategy=strategy))
        assert run.state == "done", (strategy, run.error)
        metadata = json.loads(_members(run, rolls_root)["metadata.json"])
        books = [f for f in metadata["files"] if f["kind"] == "station_book"]
        assert len(books) == run.stations_count
        assert sum(f["voters"] for f in books) == 1200
        written[strategy] = {f["path"]: f["sha256"] for f in metadata["files"]}

    assert len(written["per_station"]) == 2 * run.stations_count + run.centers_count
    assert [s for s in written if written[s] != written["per_station"]] == []


def test_batches_are_runs_of_stations_in_book_order_largest_first(seeded, settings):
    settings.ROLL_STATION_MAX = 60
    run = rolls.assign(rolls.create_run(strategy="batched").id)
    order = list(
        Station.objects.filter(run=run)
        .order_by("center__code", "number")
        .values_list("id", "voter_count")
    )
    voters = dict(order)
    # At most the task's voters, and at least two batches per core for a small run.
    limit = min(250, -(-sum(voters.values()) // (2 * os.cpu_count())))

    batches = drawing.plan_batches(run.id, task_voters=250)

    position = {station_id: index for index, (station_id, _) in enumerate(order)}
    in_order = sorted(batches, key=lambda batch: position[batch[0]])
    assert [sid for batch in in_order for sid in batch] == [sid for sid, _ in order]
    sizes = [sum(voters[sid] for sid in batch) for batch in batches]
    assert all(size <= limit for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    # A station bigger than the limit is a batch of its own.
    assert sorted(drawing.plan_batches(run.id, task_voters=1)) == sorted([sid] for sid in voters)


@pytest.mark.usefixtures("worker")
def test_a_batch_drawn_twice_writes_the_same_files_and_counts_each_station_once(
    seeded, rolls_root, settings
):
    settings.ROLL_STATION_MAX = 100
    run = rolls.assign(rolls.create_run(strategy="batched").id)
    batch = drawing.plan_batches(run.id, task_voters=1000)[0]
    assert len(batch) > 1

    first = tasks.render_batch.delay(run.id, batch).get(timeout=30)
    files = {p: p.read_bytes() for p in (rolls_root / str(run.id)).rglob("*.pdf")}
    second = tasks.render_batch.delay(run.id, batch).get(timeout=30)

    assert first == second == {"stations": len(batch), "pages": first["pages"]}
    assert {p: p.read_bytes() for p in (rolls_root / str(run.id)).rglob("*.pdf")} == files
    run.refresh_from_db()
    assert run.stations_done == len(batch)
    drawn = Station.objects.filter(run=run, rendered_at__isnull=False)
    assert sorted(drawn.values_list("id", flat=True)) == sorted(batch)


def test_a_batch_cancelled_midway_stops_at_the_next_station_and_leaves_nothing(
    seeded, monkeypatch, rolls_root
):
    run = rolls.assign(rolls.create_run(strategy="batched").id)
    batch = list(Station.objects.filter(run=run).values_list("id", flat=True))
    drawn = []

    def door_sign_then_cancel(station):
        drawn.append(station.id)
        if len(drawn) == 2:
            rolls.cancel(run.id)
        return door_sign(station)

    door_sign = rolls.pdfs.render_door_sign
    monkeypatch.setattr(drawing.pdfs, "render_door_sign", door_sign_then_cancel)
    monkeypatch.setattr(drawing, "CANCEL_CHECK_SECONDS", 0)

    assert drawing.draw_batch(run.id, batch) == {"stations": 0, "pages": 0}

    assert drawn == batch[:2]
    assert not (rolls_root / str(run.id)).exists()
    run.refresh_from_db()
    assert run.state == "cancelled" and run.stations_done == 0


@pytest.mark.usefixtures("worker")
def test_rendering_one_station_twice_gives_one_file_with_the_same_content(seeded, rolls_root):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    station = Station.objects.filter(run=run).first()

    first = tasks.render_station.delay(run.id, station.id).get(timeout=30)
    digest = hashlib.sha256((rolls_root / first["file"]).read_bytes()).hexdigest()
    second = tasks.render_station.delay(run.id, station.id).get(timeout=30)

    assert first == second
    assert hashlib.sha256((rolls_root / second["file"]).read_bytes()).hexdigest() == digest
    folder = (rolls_root / first["file"]).parent
    # Station 1 also draws its center's station list.
    assert sorted(p.name for p in folder.iterdir()) == [
        "door-001.pdf",
        "station-001.pdf",
        "stations.pdf",
    ]
    run.refresh_from_db()
    assert run.stations_done == 1


@pytest.mark.usefixtures("worker")
def test_run_whose_chord_callback_was_lost_is_finalized_by_the_sweeper(seeded, settings):
    settings.ROLL_SWEEP_GRACE_SECONDS = 0
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    ids = Station.objects.filter(run=run).values_list("id", flat=True)
    # The header without its callback: as if the chord counter never fired it.
    group(tasks.render_station.si(run.id, sid) for sid in ids).apply_async().get(timeout=60)
    run.refresh_from_db()
    assert run.state == "rendering" and run.stations_done == run.stations_count

    swept = tasks.sweep_runs.delay().get(timeout=60)

    run.refresh_from_db()
    assert swept["finalized"] == [run.id]
    assert run.state == "done" and run.zip_file


@pytest.mark.usefixtures("worker")
def test_a_callback_fired_before_the_last_station_waits_for_it(seeded):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    *first, last = Station.objects.filter(run=run).values_list("id", flat=True)
    for station_id in first:
        drawing.draw_station(station_id)

    # As when a header task ran twice and its second vote fired the chord early.
    early = tasks.finalize_run.delay(run.id)
    wait_until(
        lambda: early.state == "RETRY",
        interval=0.1,
        what=lambda: f"finalize_run to wait (it is {early.state})",
    )
    drawing.draw_station(last)

    run = _wait(run)
    assert run.state == "done", run.error
    assert early.get(timeout=30)["zip"] == run.zip_file


def test_sweeper_fails_a_stalled_run_with_the_reason(seeded):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    RollRun.objects.filter(id=run.id).update(updated_at=timezone.now() - timedelta(hours=1))

    swept = rolls.sweep()

    run.refresh_from_db()
    assert swept["failed"] == [run.id]
    assert run.state == "failed"
    assert "No progress for 15 minutes while rendering" in run.error


def test_cancel_stops_rendering_and_removes_partial_files(seeded, rolls_root):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    first, second = Station.objects.filter(run=run)[:2]
    drawing.draw_station(first.id)
    assert any((rolls_root / str(run.id)).rglob("*.pdf"))

    assert rolls.cancel(run.id)

    assert drawing.draw_station(second.id) is None
    assert not (rolls_root / str(run.id)).exists()
    run.refresh_from_db()
    assert run.state == "cancelled"
    assert rolls.finalize(run.id) is None
    assert not rolls.cancel(run.id)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_cancel_mid_run_on_a_prefork_worker_stops_every_station_task(
    subprocess_env, rolls_root, settings
):
    # 40-voter stations: 4,000 voters make about 100 station tasks, several seconds of
    # drawing on two processes, so the cancel lands with most of them still queued.
    settings.ROLL_STATION_MAX = 40
    seed_voters(voters=4000, centers=4, seed=7, locale="en", replace=False)
    env = {
        **subprocess_env,
        "ROLLS_ROOT": str(rolls_root),
        "ROLL_STATION_MAX": "40",
        "WORKER_QUEUES": "default,pdf",
        "WORKER_CONCURRENCY": "2",
    }
    with worker_process(env, args=("--pool", "prefork")):
        run = services.queue_run(strategy="per_station")
        wait_until(
            lambda: RollRun.objects.get(id=run.id).stations_done >= 5,
            timeout=60,
            interval=0.02,
            what="five stations drawn",
        )

        assert services.cancel_run(run.id)
        cancelled = time.monotonic()
        done_when_cancelled = RollRun.objects.get(id=run.id).stations_done
        # Watch the run's folder while the workers wind down: the stations being drawn
        # at the cancel may write and remove their own files; nothing may appear later.
        late_files: list[str] = []
        while time.monotonic() - cancelled < 5:
            if time.monotonic() - cancelled > 2:
                late_files += _files_under(rolls_root / str(run.id))
            time.sleep(0.02)
        settled = RollRun.objects.get(id=run.id).stations_done
        time.sleep(1)
        run.refresh_from_db()

    assert run.stations_count > 80
    assert run.state == "cancelled" and run.finished_at
    assert late_files == []
    assert _files_under(rolls_root / str(run.id)) == []
    assert not run.zip_file and not run.metadata_file
    # Only a task already drawing when the cancel came may finish its station: 2 prefork
    # children, plus the 4 threads of the session worker if an earlier test started it.
    assert settled - done_when_cancelled <= 6
    assert run.stations_done == settled < run.stations_count
    # The waiting ones draw nothing. The workers drop them as revoked, storing a REVOKED
    # result as each comes off the queue; the few received between the cancel and the
    # revoke's arrival find the run cancelled and return None without drawing.
    station_results = TaskResult.objects.filter(task_id__startswith=f"voterroll-{run.id}-station-")
    wait_until(
        lambda: station_results.count() >= run.stations_count,
        interval=0.2,
        what=lambda: f"every station's result (has {station_results.count()})",
    )
    statuses = Counter(station_results.values_list("status", flat=True))
    assert statuses["REVOKED"] >= (run.stations_count - settled) // 2, statuses
    ran = station_results.filter(status="SUCCESS").values_list("task_id", "result")
    drawn = [task_id for task_id, result in ran if result != "null"]
    assert len(drawn) == run.stations_done, (drawn, run.stations_done)


def test_start_is_enqueued_once_and_only_on_commit(seeded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        run = services.queue_run(strategy="single")
        assert RollRun.objects.get(id=run.id).state == "queued"

    assert len(callbacks) == 1


def test_start_is_not_enqueued_when_the_transaction_rolls_back(
    seeded, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.queue_run(strategy="single")
        raise RuntimeError("roll back")

    assert callbacks == []
    assert not RollRun.objects.exists()


def test_assigning_twice_keeps_one_set_of_stations(seeded):
    run = rolls.create_run(strategy="per_station")

    rolls.assign(run.id)
    rolls.assign(run.id)

    assert Station.objects.filter(run=run).count() == RollRun.objects.get(id=run.id).stations_count


def test_sweeper_runs_on_beat_every_minute(settings):
    from project.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["voterroll.sweep_runs"]

    assert entry["schedule"] == timedelta(minutes=1)
    assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_running_generations_show_on_the_tasks_dashboard(admin_client):
    running = RollRun.objects.create(
        state="rendering", stations_count=10, stations_done=3, strategy="per_station"
    )
    RollRun.objects.create(state="done", stations_count=4, stations_done=4)

    page = admin_client.get("/tasks/").content.decode()

    # One pair of brackets: the strategy's own.
    assert f">Roll run {running.pk}, per station (group | chord)</a>" in page
    assert page.count("Roll run ") == 1


def test_a_killed_station_task_fails_the_run_with_the_reason(seeded):
    # What the worker's main process calls after the last lost child of a station task.
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    station = run.stations.first()

    tasks.render_station.on_failure(
        WorkerLostError("signal 9"), "task-id", (run.id, station.id), {}, None
    )

    run.refresh_from_db()
    assert run.state == "failed"
    assert run.error == "A generation step stopped its worker process on every try."


def test_a_failed_step_names_a_time_limit_and_a_messageless_error_in_the_run_error():
    # SoftTimeLimitExceeded carries no message: without a name, the run's error would end
    # in "Finalizing failed: " with nothing after it.
    assert tasks._reason(SoftTimeLimitExceeded()) == "it took longer than its time limit"
    assert tasks._reason(KeyError()) == "KeyError"
    assert tasks._reason(ValueError("bad center")) == "bad center"


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [
            {"path": "C001/station-001.pdf", "center": "مركز", "station": 1, "voters": 3},
            {"path": "C001/stations.pdf", "center": "C001", "station": None, "voters": 3},
        ],
    ],
)
def test_metadata_is_streamed_as_the_same_json_as_one_dump(entries):
    header = {"run": 7, "strategy": "per_station", "pages": 12}

    streamed = b"".join(packaging.metadata_json(header, iter(entries)))

    dumped = json.dumps({**header, "files": entries}, indent=2, ensure_ascii=False)
    assert streamed == dumped.encode()


def test_a_roll_file_is_stored_whole_from_chunks_and_measured_on_the_way(rolls_root):
    chunks = (part.encode() for part in ["%PDF-1.4 ", "é", " end"])

    size, sha256 = run_files.write_file("5/C0001/station-001.pdf", chunks)

    data = (rolls_root / "5" / "C0001" / "station-001.pdf").read_bytes()
    assert data == "%PDF-1.4 é end".encode()
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    # Written unnamed and linked when complete: no temporary file beside it.
    assert [p.name for p in (rolls_root / "5" / "C0001").iterdir()] == ["station-001.pdf"]


def test_finalize_draws_a_center_list_an_older_station_task_did_not(seeded, rolls_root):
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    lists = sorted((rolls_root / str(run.id)).glob("*/stations.pdf"))
    drawn = {path: path.read_bytes() for path in lists}
    lists[0].unlink()

    run = rolls.finalize(run.id)

    assert run.state == "done"
    assert {path: path.read_bytes() for path in lists} == drawn
    with zipfile.ZipFile(rolls_root / run.zip_file) as archive:
        name = lists[0].relative_to(rolls_root / str(run.id)).as_posix()
        assert archive.read(name) == drawn[lists[0]]


def test_finalize_fails_on_a_missing_station_book(seeded, rolls_root):
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    next((rolls_root / str(run.id)).glob("*/station-002.pdf")).unlink()

    with pytest.raises(FileNotFoundError, match=r"station-002\.pdf is missing"):
        rolls.finalize(run.id)
    assert not (rolls_root / str(run.id) / f"roll-{run.id}.zip").exists()
