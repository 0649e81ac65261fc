"""Packaging a rendered roll run: one zip of its files and a metadata.json listing them."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import tempfile
import zipfile
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import IO, cast

from voterroll import pdfs, run_files
from voterroll.models import Center, RollRun, Station


def _stations_by_center(run_id: int) -> Generator[tuple[Center, list[Station]]]:
    """Yield each center of a run with its stations, reading 500 rows at a time.

    Memory stays flat at any run size: a million-voter run has thousands of stations,
    and neither they nor the metadata of every file are ever held at once.
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
    """Draw and store a center's station list missing from the storage; return its bytes.

    Station tasks draw it with the center's station 1; a run whose station 1 was drawn
    by a release that did not leaves it to finalize."""
    data, entry["pages"] = pdfs.render_center_list(center, stations)
    run_files.write_file(f"{run_files.run_folder(run_id)}/{entry['path']}", data)
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

    The same bytes as the one-call form, with one entry in memory at a time rather than
    the whole document (7,000 entries at a million voters) and the encoder's copies.
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


@dataclass(frozen=True)
class Package:
    """What ``write_package`` stored: storage names, the zip's sha256, the pages zipped."""

    zip_file: str
    zip_sha256: str
    metadata_file: str
    pages: int


def write_package(run: RollRun) -> Package:
    """Write the zip of a rendered run's files and metadata.json beside it.

    The zip is streamed out as it is built (a multipart upload on object storage, an
    unnamed file on local folders) and the stored files go into it one after the other,
    hashed on the way (read a few at once on object storage, to hide each request's
    latency): neither the run nor the zip is ever held in memory or on local disk.
    Stations are read center by center, and each file's metadata goes to an unnamed
    temporary file until metadata.json is written, so memory stays flat at any size.

    metadata.json is written twice: inside the zip, listing every file with its size
    and sha256; and beside the zip, the same document with the zip's own size and sha256
    added (``"zip"``), which a zip cannot hold about itself. A center list missing from
    the storage is drawn and stored first.
    """
    folder = run_files.run_folder(run.id)
    zip_name = f"roll-{run.id}.zip"
    # A fixed timestamp per run: the same run always zips to the same bytes.
    stamp = run.created_at.timetuple()[:6]
    # Unnamed, in this host's temporary folder: nothing is left behind.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as entries:
        with (
            run_files.storage().atomic_writer(f"{folder}/{zip_name}", sha256=True) as zipped,
            # The writer cannot seek: zipfile puts each entry's sizes after its bytes.
            zipfile.ZipFile(cast(IO[bytes], zipped), "w", zipfile.ZIP_STORED) as archive,
        ):
            pages = _zip_run_files(archive, run.id, entries, stamp)
            header = {
                "run": run.id,
                "strategy": run.strategy,
                "created_at": run.created_at.isoformat(),
                "centers": run.centers_count,
                "stations": run.stations_count,
                "voters": run.voters_count,
                "pages": pages,
            }
            entries.seek(0)
            _zip_entry(archive, "metadata.json", metadata_json(header, _read(entries)), stamp)
        assert zipped.sha256 is not None  # asked for above
        header["zip"] = {"path": zip_name, "bytes": zipped.size, "sha256": zipped.sha256}
        entries.seek(0)
        run_files.write_file(f"{folder}/metadata.json", metadata_json(header, _read(entries)))
    return Package(
        zip_file=f"{folder}/{zip_name}",
        zip_sha256=zipped.sha256,
        metadata_file=f"{folder}/metadata.json",
        pages=pages,
    )


def _read(entries: IO[str]) -> Iterator[dict]:
    """The metadata entries ``_zip_run_files`` wrote to ``entries``, one per line."""
    return map(json.loads, entries)


def _zip_run_files(archive: zipfile.ZipFile, run_id: int, entries: IO[str], stamp: tuple) -> int:
    """Zip every file of a run, center by center, writing each file's metadata entry as a
    line of ``entries``; return the pages zipped."""
    folder = run_files.run_folder(run_id)
    pages = 0
    listed: deque[tuple[dict, Center, list[Station]]] = deque()
    # Closed if zipping stops midway, so no server-side cursor outlives it.
    with contextlib.closing(_stations_by_center(run_id)) as centers:

        def names() -> Iterator[str]:
            # Read ahead by read_many: the entries wait in ``listed`` for their bytes.
            for center, stations in centers:
                for entry in _center_files(center, stations):
                    listed.append((entry, center, stations))
                    yield f"{folder}/{entry['path']}"

        for data in run_files.storage().read_many(names(), missing_ok=True):
            entry, center, stations = listed.popleft()
            if data is None and entry["kind"] == "center_list":
                data = _missing_center_list(run_id, entry, center, stations)
            elif data is None:
                raise FileNotFoundError(f"{folder}/{entry['path']} is missing")
            entry.update(_zip_entry(archive, entry["path"], [data], stamp))
            pages += entry["pages"]
            entries.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return pages
