"""A roll run's workflow: assign, render each station, finalize, cancel, sweep.

Every step is a plain function of ids, safe to run twice: state changes are conditional
``UPDATE … WHERE state = …`` claims, file names are deterministic and written
atomically, and per-station progress is counted only by the first render of a station.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from datetime import timedelta
from operator import attrgetter
from typing import IO, cast

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from filestore.local import LocalStorage
from filestore.s3 import ObjectStorage
from filestore.storages import ROLLS, named
from voterroll import pdfs, stations
from voterroll.models import Assignment, Center, RollRun, Station, Voter

logger = logging.getLogger(__name__)
State = RollRun.State


def storage() -> LocalStorage | ObjectStorage:
    """The private storage of roll files (ROLLS: a folder or a bucket no URL serves)."""
    return named(ROLLS)


def run_folder(run_id: int) -> str:
    """Return the storage name of a run's folder; every file of the run is under it."""
    return str(run_id)


def write_file(name: str, data: bytes | Iterable[bytes]) -> tuple[int, str]:
    """Store ``data`` (bytes, or chunks of them) as ``name``; return its size and sha256.

    The file appears whole or not at all: atomically linked on local folders, a single
    PUT or a completed multipart upload on object storage.
    """
    chunks = cast(Iterable[bytes], [data] if isinstance(data, bytes | bytearray) else data)
    with storage().atomic_writer(name, sha256=True) as out:
        for chunk in chunks:
            out.write(chunk)
    assert out.sha256 is not None  # asked for above
    return out.size, out.sha256


def location(name: str) -> str:
    """Say where a stored file is, for a person: its absolute path on local folders,
    ``s3://bucket/key`` on object storage."""
    rolls = storage()
    if isinstance(rolls, ObjectStorage):  # no path on this host
        return f"s3://{rolls.bucket_name}/{rolls.key(name)}"
    return rolls.path(name)


def delete_files(run_id: int) -> None:
    """Delete every stored file of a run (a run with none is fine)."""
    storage().delete_folder(run_folder(run_id))


# Task ids are derived from the run, so cancel can revoke tasks it never saw sent.
def station_task_id(run_id: int, station_id: int) -> str:
    return f"voterroll-{run_id}-station-{station_id}"


def center_task_id(run_id: int, center_id: int) -> str:
    return f"voterroll-{run_id}-center-{center_id}"


def batch_task_id(run_id: int, first_station_id: int) -> str:
    return f"voterroll-{run_id}-batch-{first_station_id}"


def finalize_task_id(run_id: int) -> str:
    return f"voterroll-{run_id}-finalize"


def create_run(*, strategy: str, center_ids: list[int] | None = None) -> RollRun:
    """Record a queued run; the caller enqueues its start task after commit."""
    if strategy not in RollRun.Strategy.values:
        raise ValueError(f"unknown strategy {strategy!r}")
    run = RollRun.objects.create(strategy=strategy)
    if center_ids:
        run.centers.set(center_ids)
    RollRun.objects.filter(id=run.id).update(output_dir=run_folder(run.id))
    run.refresh_from_db()
    return run


def forecast() -> dict[str, int]:
    """Count the voters and centers a run of every center covers, and the files it makes.

    One grouped count (the ``voter_center_gender`` index answers it), then the station
    plan ``assign_stations`` follows: a book and a one-page door sign per station, a
    station list per center, and the pages of them all.
    """
    counts: dict[int, dict[str, int]] = {}
    rows = Voter.objects.values("center_id", "gender").annotate(n=Count("id")).order_by()
    for row in rows:
        counts.setdefault(row["center_id"], {})[row["gender"]] = row["n"]
    voters = books = pages = 0
    for per_gender in counts.values():
        plan = stations.plan_center(
            per_gender,
            station_max=settings.ROLL_STATION_MAX,
            unisex_threshold=settings.ROLL_UNISEX_THRESHOLD,
        )
        voters += sum(size for _, size in plan)
        books += len(plan)
        pages += sum(pdfs.book_pages(size) + 1 for _, size in plan)
        pages += pdfs.center_list_pages(len(plan))
    return {"voters": voters, "centers": len(counts), "stations": books, "pages": pages}


def fail(run_id: int, reason: str) -> bool:
    """End an active run as failed with a reason staff can read; return whether it was."""
    now = timezone.now()
    failed = RollRun.objects.filter(id=run_id, state__in=RollRun.ACTIVE_STATES).update(
        state=State.FAILED, error=reason, finished_at=now, updated_at=now
    )
    if failed:
        logger.warning("roll run %s failed: %s", run_id, reason)
    return bool(failed)


def _covers_arabic(run: RollRun) -> bool:
    centers = run.centers.all() if run.centers.exists() else Center.objects.all()
    return centers.filter(locale="ar").exists()


def assign(run_id: int) -> RollRun | None:
    """Claim a queued run and split its voters into stations; return it, or None if failed."""
    now = timezone.now()
    RollRun.objects.filter(id=run_id, state=State.QUEUED).update(
        state=State.ASSIGNING, assign_started_at=now, updated_at=now
    )
    try:
        with transaction.atomic():
            run = RollRun.objects.select_for_update().get(id=run_id)
            if run.state != State.ASSIGNING:
                # Already assigned (a redelivered task), cancelled or failed.
                return run
            # Fail at start, naming the package, rather than draw empty boxes later.
            pdfs.ensure_fonts(arabic=_covers_arabic(run))
            stations.assign_stations(run)
            now = timezone.now()
            RollRun.objects.filter(id=run_id).update(
                state=State.RENDERING, render_started_at=now, updated_at=now
            )
    except pdfs.FontMissing as exc:
        fail(run_id, str(exc))
        return None
    return RollRun.objects.get(id=run_id)


def claim_launch(run_id: int) -> bool:
    """Return True once per run: whether the caller should publish the fan-out."""
    return bool(
        RollRun.objects.filter(id=run_id, launched_at__isnull=True).update(
            launched_at=timezone.now()
        )
    )


def render_station(station_id: int) -> dict | None:
    """Write one station's book and door sign; return {file, pages}, or None if skipped."""
    drawn = render_stations([station_id])
    return drawn[0] if drawn else None


def render_batch(run_id: int, station_ids: list[int]) -> dict:
    """Draw a batch of a run's stations in turn; return {stations, pages} drawn."""
    drawn = render_stations(station_ids)
    return {"stations": len(drawn), "pages": sum(done["pages"] for done in drawn)}


# Bytes of drawn PDFs held at most before they are saved: a bound on a batch's memory.
SAVE_BYTES = 8 * 1024 * 1024
# Seconds between a batch's looks at whether its run was cancelled, at station boundaries.
CANCEL_CHECK_SECONDS = 0.25


def render_stations(station_ids: list[int]) -> list[dict]:
    """Write the books and door signs of stations of one run, in the order given; return
    {file, pages} of each station drawn, or nothing if the run is not rendering.

    A center's station list is drawn with its station 1: every station's range of
    names is known once the run is assigned. Voter rows are read in one query and
    the stations are recorded as drawn in one transaction, which counts each station
    only the first time it is drawn: a batch delivered twice writes the same bytes
    under the same names and counts nothing twice.
    """
    by_id = Station.objects.select_related("center", "run").in_bulk(station_ids)
    stations = [by_id[station_id] for station_id in station_ids if station_id in by_id]
    if not stations or stations[0].run.state != State.RENDERING:
        return []
    run = stations[0].run
    voters = Assignment.objects.book_rows_of(station_ids)
    centers = _listed_centers(run.id, [s.center_id for s in stations if s.number == 1])
    drawn: list[Station] = []
    # A batch's files are saved together: parallel PUTs on object storage, where one
    # after the other each would wait out a round trip; SAVE_BYTES bounds the memory.
    pending: dict[str, bytes] = {}
    checked = time.monotonic()
    for station in stations:
        # The station boundary: a run cancelled meanwhile stops the batch here.
        if time.monotonic() - checked > CANCEL_CHECK_SECONDS:
            if not _still_rendering(run.id):
                break
            checked = time.monotonic()
        folder = f"{run_folder(run.id)}/{station.center.code}"
        book, pages = pdfs.render_station_book(station, voters.get(station.id, []))
        station.book_file = f"{folder}/station-{station.number:03d}.pdf"
        station.door_file = f"{folder}/door-{station.number:03d}.pdf"
        pending[station.book_file] = book
        pending[station.door_file] = pdfs.render_door_sign(station)[0]
        if station.number == 1:
            listing, _ = pdfs.render_center_list(station.center, centers[station.center_id])
            pending[f"{folder}/stations.pdf"] = listing
        station.pages = pages
        station.bytes, station.sha256 = len(book), hashlib.sha256(book).hexdigest()
        drawn.append(station)
        if sum(map(len, pending.values())) >= SAVE_BYTES:
            storage().save_many(pending)
            pending.clear()
    if pending:
        storage().save_many(pending)
    if not _record_drawn(run.id, drawn):
        # Cancelled while drawing: cancel already deleted the run's files, and this batch
        # may have written some since. Every task of the run that sees the cancellation
        # deletes them again, so the last one to stop leaves nothing behind.
        delete_files(run.id)
        return []
    return [{"file": station.book_file, "pages": station.pages} for station in drawn]


def _listed_centers(run_id: int, center_ids: list[int]) -> dict[int, list[Station]]:
    """The stations of each center whose station list is to be drawn, in number order."""
    listed: dict[int, list[Station]] = {center_id: [] for center_id in center_ids}
    if center_ids:
        members = Station.objects.filter(run_id=run_id, center_id__in=center_ids)
        for station in members.select_related("center").order_by("center_id", "number"):
            listed[station.center_id].append(station)
    return listed


def _record_drawn(run_id: int, drawn: list[Station]) -> bool:
    """Mark stations drawn and count the ones drawn for the first time; return whether
    the run is still rendering."""
    now = timezone.now()
    # One transaction: a connection lost between the updates (the database restarting)
    # must not leave a station marked drawn but uncounted, which no rerun would count
    # and the run would never finish.
    with transaction.atomic():
        # Only a row not yet drawn matches, so a station drawn twice is counted once.
        # An update per station: bulk_update's CASE per field took longer to build.
        first_time = sum(
            Station.objects.filter(id=station.id, rendered_at__isnull=True).update(
                book_file=station.book_file,
                door_file=station.door_file,
                pages=station.pages,
                bytes=station.bytes,
                sha256=station.sha256,
                rendered_at=now,
            )
            for station in drawn
        )
        # One query for both: count the stations, and learn whether the run is still going.
        return (
            bool(
                RollRun.objects.filter(id=run_id, state=State.RENDERING).update(
                    stations_done=F("stations_done") + first_time, updated_at=now
                )
            )
            if first_time
            else _still_rendering(run_id)
        )


def plan_batches(run_id: int, *, task_voters: int | None = None) -> list[list[int]]:
    """Split a run's stations into batches, consecutive in book order; the largest first.

    A batch holds at most ``task_voters`` voters (a bigger station is a batch of its
    own), and a small run is cut in at least two batches per core of this machine, so
    that its worker processes share the work; publishing the largest first leaves the
    smallest to fill the gaps at the end.
    """
    task_voters = task_voters or settings.ROLL_TASK_VOTERS
    stations = Station.objects.filter(run_id=run_id).order_by("center__code", "number")
    counted = list(stations.values_list("id", "voter_count"))
    shares = 2 * (os.cpu_count() or 1)
    limit = min(task_voters, -(-sum(count for _, count in counted) // shares))
    batches: list[tuple[int, list[int]]] = []
    current: list[int] = []
    voters = 0
    for station_id, count in counted:
        if current and voters + count > limit:
            batches.append((voters, current))
            current, voters = [], 0
        current.append(station_id)
        voters += count
    if current:
        batches.append((voters, current))
    batches.sort(key=lambda batch: -batch[0])
    return [ids for _, ids in batches]


def waiting_for_stations(run_id: int) -> bool:
    """Whether the run is still rendering with stations left to draw."""
    return RollRun.objects.filter(
        id=run_id, state=State.RENDERING, stations_done__lt=F("stations_count")
    ).exists()


def _still_rendering(run_id: int) -> bool:
    return RollRun.objects.filter(id=run_id, state=State.RENDERING).exists()


def _render_in_turn(run_id: int, stations: QuerySet[Station]) -> int:
    pages = 0
    for station_id in stations.values_list("id", flat=True):
        # The station boundary: a cancelled run stops here.
        if not _still_rendering(run_id):
            break
        done = render_station(station_id)
        pages += done["pages"] if done else 0
    return pages


def render_center(run_id: int, center_id: int) -> dict:
    """Render a center's stations one by one, stopping at a station boundary if cancelled."""
    stations = Station.objects.filter(run_id=run_id, center_id=center_id).order_by("number")
    return {"center": center_id, "pages": _render_in_turn(run_id, stations)}


def render_all(run_id: int) -> int:
    """Render every station of a run in this process; return the pages drawn."""
    stations = Station.objects.filter(run_id=run_id).order_by("center__code", "number")
    return _render_in_turn(run_id, stations)


def _stations_by_center(run_id: int) -> Generator[tuple[Center, list[Station]]]:
    """Yield each center of a run with its stations, reading 500 rows at a time.

    A million-voter run has thousands of stations; holding them all (and the metadata of
    every file) at once is what made finalize the biggest process of the run.
    """
    stations = (
        Station.objects.filter(run_id=run_id)
        .select_related("center")
        .order_by("center__code", "number")
        .iterator(chunk_size=500)
    )
    for _, group in itertools.groupby(stations, key=attrgetter("center_id")):
        members = list(group)
        yield members[0].center, members


def _center_files(center: Center, stations: list[Station]) -> Iterator[dict]:
    """Yield the metadata entry of each file of a center, its station list first.

    ``path`` is relative to the run's folder; ``bytes`` and ``sha256`` are left empty, to
    be filled in while the file is zipped.
    """

    def entry(name: str, kind: str, station: int | None, pages: int, voters: int) -> dict:
        return {
            "path": name,
            "kind": kind,
            "center": center.code,
            "station": station,
            "pages": pages,
            "bytes": None,
            "sha256": None,
            "voters": voters,
        }

    list_pages = pdfs.center_list_pages(len(stations))
    voters = sum(s.voter_count for s in stations)
    yield entry(f"{center.code}/stations.pdf", "center_list", None, list_pages, voters)
    for station in stations:
        number, voters = station.number, station.voter_count
        yield entry(station.book_name, "station_book", number, station.pages, voters)
        yield entry(station.door_name, "door_sign", number, 1, voters)


def _missing_center_list(run_id: int, entry: dict, center: Center, stations: list) -> bytes:
    """Draw and store a center's station list that a station task of an older release
    did not draw (this one draws it with the center's station 1); return its bytes."""
    data, entry["pages"] = pdfs.render_center_list(center, stations)
    write_file(f"{run_folder(run_id)}/{entry['path']}", data)
    return data


def _zip_entry(archive: zipfile.ZipFile, name: str, chunks: Iterable[bytes], stamp: tuple) -> dict:
    """Stream chunks into the zip as ``name``, hashing them on the way; return bytes and sha256."""
    digest, size = hashlib.sha256(), 0
    # PDFs are already compressed, so storing them is as small as deflating, and faster.
    with archive.open(zipfile.ZipInfo(name, date_time=stamp), "w") as out:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def metadata_json(header: dict, entries: Iterable[dict]) -> Iterator[bytes]:
    """Yield ``json.dumps({**header, "files": [...entries]}, indent=2)``, entry by entry.

    The same bytes as the one-call form, without the whole document in memory: at a
    million voters that held 7,000 entries and the encoder's copies of them at once.
    """
    # The header's dump ends in "\n}": the files list goes before that brace.
    if not header:
        raise ValueError("metadata needs a header")
    yield json.dumps(header, indent=2, ensure_ascii=False)[:-2].encode() + b',\n  "files": ['
    empty = True
    for entry in entries:
        text = json.dumps(entry, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield (b"\n    " if empty else b",\n    ") + text.encode()
        empty = False
    yield b"]\n}" if empty else b"\n  ]\n}"


def finalize(run_id: int) -> RollRun | None:
    """Write center lists, metadata.json and the zip of a fully rendered run; mark it done.

    The zip is streamed out as it is built (a multipart upload on object storage, an
    unnamed file on local folders) and the stored files go into it one after the other,
    hashed on the way (read a few at once on object storage, to hide each request's
    latency): neither the run nor the zip is ever held in memory or on local disk.
    Stations are read center by center, and each file's metadata goes to an unnamed
    temporary file until metadata.json is written, so memory stays flat at any size.

    metadata.json is written twice: inside the zip, listing every file with its size
    and sha256; and beside the zip, the same document with the zip's own size and sha256
    added (``"zip"``), which a zip cannot hold about itself.
    """
    now = timezone.now()
    claimed = RollRun.objects.filter(
        id=run_id,
        state__in=[State.RENDERING, State.FINALIZING],
        stations_done=F("stations_count"),
    ).update(
        state=State.FINALIZING,
        finalize_started_at=Coalesce(F("finalize_started_at"), Value(now)),
        updated_at=now,
    )
    if not claimed:
        return None
    run = RollRun.objects.get(id=run_id)
    folder = run_folder(run_id)
    zip_name = f"roll-{run.id}.zip"
    metadata_name = f"{folder}/metadata.json"
    # A fixed timestamp per run: the same run always zips to the same bytes.
    stamp = run.created_at.timetuple()[:6]
    total_pages = 0
    # Unnamed, in this host's temporary folder: nothing is left behind.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as entries:
        # A callback and a sweeper finalizing at once each write a zip nobody sees until
        # it is complete; the last one to finish replaces the other's identical bytes.
        with (
            storage().atomic_writer(f"{folder}/{zip_name}", sha256=True) as zipped,
            # The writer cannot seek: zipfile puts each entry's sizes after its bytes.
            zipfile.ZipFile(cast(IO[bytes], zipped), "w", zipfile.ZIP_STORED) as archive,
            # Closed if finalize stops midway, so no server-side cursor outlives it.
            contextlib.closing(_stations_by_center(run_id)) as centers,
        ):
            listed: deque[tuple[dict, Center, list[Station]]] = deque()

            def names() -> Iterator[str]:
                # Read ahead by read_many: the entries wait in ``listed`` for their bytes.
                for center, stations in centers:
                    for entry in _center_files(center, stations):
                        listed.append((entry, center, stations))
                        yield f"{folder}/{entry['path']}"

            for data in storage().read_many(names(), missing_ok=True):
                entry, center, stations = listed.popleft()
                if data is None and entry["kind"] == "center_list":
                    data = _missing_center_list(run_id, entry, center, stations)
                elif data is None:
                    raise FileNotFoundError(f"{folder}/{entry['path']} is missing")
                entry.update(_zip_entry(archive, entry["path"], [data], stamp))
                total_pages += entry["pages"]
                entries.write(json.dumps(entry, ensure_ascii=False) + "\n")
            header = {
                "run": run.id,
                "strategy": run.strategy,
                "created_at": run.created_at.isoformat(),
                "centers": run.centers_count,
                "stations": run.stations_count,
                "voters": run.voters_count,
                "pages": total_pages,
            }
            entries.seek(0)
            listing = metadata_json(header, map(json.loads, entries))
            _zip_entry(archive, "metadata.json", listing, stamp)
        header["zip"] = {"path": zip_name, "bytes": zipped.size, "sha256": zipped.sha256}
        entries.seek(0)
        write_file(metadata_name, metadata_json(header, map(json.loads, entries)))
    done = RollRun.objects.filter(id=run_id, state=State.FINALIZING).update(
        state=State.DONE,
        pages_count=total_pages,
        metadata_file=metadata_name,
        zip_file=f"{folder}/{zip_name}",
        zip_sha256=zipped.sha256,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not done:
        return None
    return RollRun.objects.get(id=run_id)


def cancel(run_id: int) -> bool:
    """Cancel an active run: revoke its waiting tasks and remove its files; return whether."""
    now = timezone.now()
    cancelled = RollRun.objects.filter(id=run_id, state__in=RollRun.ACTIVE_STATES).update(
        state=State.CANCELLED, error="Cancelled by staff.", finished_at=now, updated_at=now
    )
    if not cancelled:
        return False
    waiting = Station.objects.filter(run_id=run_id, rendered_at__isnull=True)
    waiting_ids = list(waiting.values_list("id", flat=True))
    task_ids = [station_task_id(run_id, sid) for sid in waiting_ids]
    # A batch is named after its first station: revoking a name no task has is harmless.
    task_ids += [batch_task_id(run_id, sid) for sid in waiting_ids]
    task_ids += [
        center_task_id(run_id, cid)
        for cid in waiting.order_by().values_list("center_id", flat=True).distinct()
    ]
    task_ids.append(finalize_task_id(run_id))
    # Waiting tasks are dropped by the workers; running ones stop at the next station.
    current_app.control.revoke(task_ids)
    delete_files(run_id)
    return True


def sweep() -> dict[str, list[int]]:
    """Finalize runs whose chord callback never fired, fail runs that stopped moving."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.ROLL_SWEEP_GRACE_SECONDS)
    finished = RollRun.objects.filter(
        state__in=[State.RENDERING, State.FINALIZING],
        stations_done=F("stations_count"),
        updated_at__lte=grace,
    )
    finalized = [run_id for run_id in finished.values_list("id", flat=True) if finalize(run_id)]
    stall = settings.ROLL_STALL_SECONDS
    failed = [
        run.id
        for run in RollRun.objects.active().filter(updated_at__lte=now - timedelta(seconds=stall))
        if fail(
            run.id,
            f"No progress for {stall // 60} minutes while {run.state}: a worker probably "
            "died or the broker lost a task. Start a new run.",
        )
    ]
    return {"finalized": finalized, "failed": failed}


def running_generations() -> list[dict]:
    """Progress rows of the runs still in flight, for the Tasks dashboard."""
    from django.urls import reverse

    return [
        {
            # The strategy's label has brackets of its own: "per station (group | chord)".
            "label": f"Roll run {run.pk}, {run.get_strategy_display()}",
            "done": run.stations_done,
            "total": run.stations_count,
            "state": run.state,
            "url": reverse("voterroll:run", args=[run.pk]),
        }
        for run in RollRun.objects.active().order_by("created_at")
    ]
