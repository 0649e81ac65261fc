"""Drawing a roll run's stations: books, door signs and station lists, saved and counted.

Every function is safe to run twice: file names are deterministic, files are written
whole or not at all, and a station is counted only by its first drawing.
"""

from __future__ import annotations

import hashlib
import os
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from voterroll import pdfs, run_files
from voterroll.models import Assignment, RollRun, Station

State = RollRun.State


def draw_station(station_id: int) -> dict | None:
    """Write one station's book and door sign; return {file, pages}, or None if skipped."""
    drawn = draw_stations([station_id])
    return drawn[0] if drawn else None


def draw_batch(run_id: int, station_ids: list[int]) -> dict:
    """Draw a batch of a run's stations in turn; return {stations, pages} drawn."""
    drawn = draw_stations(station_ids)
    return {"stations": len(drawn), "pages": sum(done["pages"] for done in drawn)}


# Bytes of drawn PDFs held at most before they are saved: a bound on a batch's memory.
SAVE_BYTES = 8 * 1024 * 1024
# Seconds between a batch's looks at whether its run was cancelled, at station boundaries.
CANCEL_CHECK_SECONDS = 0.25


def draw_stations(station_ids: list[int]) -> list[dict]:
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
        folder = f"{run_files.run_folder(run.id)}/{station.center.code}"
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
            run_files.storage().save_many(pending)
            pending.clear()
    if pending:
        run_files.storage().save_many(pending)
    if not _record_drawn(run.id, drawn):
        # Cancelled while drawing: cancel already deleted the run's files, and this batch
        # may have written some since. Every task of the run that sees the cancellation
        # deletes them again, so the last one to stop leaves nothing behind.
        run_files.delete_files(run.id)
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
        # An update per station: quicker to build than bulk_update's CASE per field.
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


def _still_rendering(run_id: int) -> bool:
    return RollRun.objects.filter(id=run_id, state=State.RENDERING).exists()


def _render_in_turn(run_id: int, stations: QuerySet[Station]) -> int:
    pages = 0
    for station_id in stations.values_list("id", flat=True):
        # The station boundary: a cancelled run stops here.
        if not _still_rendering(run_id):
            break
        done = draw_station(station_id)
        pages += done["pages"] if done else 0
    return pages


def draw_center(run_id: int, center_id: int) -> dict:
    """Render a center's stations one by one, stopping at a station boundary if cancelled."""
    stations = Station.objects.filter(run_id=run_id, center_id=center_id).order_by("number")
    return {"center": center_id, "pages": _render_in_turn(run_id, stations)}


def draw_all(run_id: int) -> int:
    """Render every station of a run in this process; return the pages drawn."""
    stations = Station.objects.filter(run_id=run_id).order_by("center__code", "number")
    return _render_in_turn(run_id, stations)
