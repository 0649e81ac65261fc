"""Draw station books, door signs and center lists with reportlab, written atomically."""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import arabic_reshaper
from bidi import get_display
from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

from voterroll.models import Assignment, Center, Station

LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
ARABIC_FONT = "Amiri"
ARABIC_PACKAGE = "fonts-hosny-amiri"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
# 9 mm rows: room for a signature, and 25 of them fit between the band and the footer.
ROW_HEIGHT = 9 * mm
# Row number, voter number, full name, birth year, signature: 180 mm of A4's 210 mm.
COLUMN_WIDTHS = [12 * mm, 28 * mm, 90 * mm, 18 * mm, 32 * mm]
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


class FontMissing(Exception):
    """The Arabic font is not installed; the message says which package to install."""


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    pages: int
    bytes: int
    sha256: str


def ensure_fonts(*, arabic: bool) -> None:
    """Register the fonts a run needs, once per process; fail naming the missing package."""
    if not arabic:
        return
    path = settings.ROLL_ARABIC_FONT
    # Checked on every call (one stat) so a font removed after start still fails clearly.
    if not os.path.exists(path):
        raise FontMissing(
            f"The Arabic font {path} is missing, so Arabic names cannot be drawn. "
            f"Install the Debian package {ARABIC_PACKAGE} (apt-get install "
            f"{ARABIC_PACKAGE}) or set ROLL_ARABIC_FONT to an Arabic TrueType font."
        )
    if ARABIC_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(ARABIC_FONT, path))


def needs_arabic(*texts: str) -> bool:
    """Return whether any text holds Arabic letters."""
    return any(_ARABIC.search(text) for text in texts)


def visual(text: str) -> str:
    """Return text in drawing order: Arabic shaped and laid out right to left."""
    if not _ARABIC.search(text):
        # Latin text is drawn as it is; caching it would only fill the cache below
        # (a worker's memory grew by the cache's size over a million Latin names).
        return text
    return _shaped(text)


# Names repeat across a roll (shared family names), so shaping is cached per process.
@lru_cache(maxsize=65_536)
def _shaped(text: str) -> str:
    return get_display(arabic_reshaper.reshape(text))


def _write_unnamed(temporary: Path, chunks: Iterable[bytes]) -> bool:
    """Write chunks to a file with no name, then name it ``temporary``; False if unsupported.

    Until it is linked the file exists only through this process: a writer killed
    mid-write (SIGKILL, the OOM killer) leaves nothing on disk. Linux only (O_TMPFILE).
    Nothing is read from ``chunks`` when this returns False.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not Path("/proc/self/fd").is_dir():
        return False
    try:
        fd = os.open(temporary.parent, flag | os.O_WRONLY, 0o666)
    except OSError:  # a filesystem without O_TMPFILE support
        return False
    folder = os.open(temporary.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.fdopen(fd, "wb", closefd=False) as handle:
            for chunk in chunks:
                handle.write(chunk)
        # A directory fd makes os.link use linkat(AT_SYMLINK_FOLLOW), which follows the
        # /proc link to the unnamed file; plain link() would not.
        os.link(f"/proc/self/fd/{fd}", temporary.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(fd)
        os.close(folder)
    return True


def write_atomically(path: Path, data: bytes | Iterable[bytes], *, pages: int) -> WrittenFile:
    """Write data (bytes, or chunks of them) under a temporary name and rename it, so no
    reader sees half a file; the size and sha256 are taken while writing.

    The temporary name exists only between a link and a rename (see _write_unnamed), so
    a writer killed at any moment leaves either the old file or the new one, and no
    temporary file behind.
    """
    digest, size = hashlib.sha256(), 0

    def measured() -> Iterator[bytes]:
        nonlocal size
        for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if not _write_unnamed(temporary, measured()):
            with temporary.open("wb") as handle:
                for chunk in measured():
                    handle.write(chunk)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return WrittenFile(path, pages, size, digest.hexdigest())


def _font(arabic: bool, bold: bool = False) -> str:
    if arabic:
        return ARABIC_FONT
    return LATIN_BOLD if bold else LATIN_FONT


def _gender_label(station: Station) -> str:
    return station.get_gender_display()


def _station_title(station: Station, center: Center) -> str:
    return f"{center.code} {center.name} - station {station.number} ({_gender_label(station)})"


def render_station_book(station: Station, *, rows_per_page: int | None = None) -> tuple[bytes, int]:
    """Return the PDF of one station's book and its pages: a cover, then voter tables."""
    rows_per_page = rows_per_page or settings.ROLL_ROWS_PER_PAGE
    center = station.center
    # One query for all the station's voters, in book order.
    voters = list(
        Assignment.objects.filter(station_id=station.id)
        .order_by("position")
        .values_list(
            "position",
            "voter__number",
            "voter__first_name",
            "voter__father_name",
            "voter__grandfather_name",
            "voter__family_name",
            "voter__birth_year",
        )
    )
    arabic = needs_arabic(center.name, *(" ".join(row[2:6]) for row in voters[:1]))
    ensure_fonts(arabic=arabic)
    font = _font(arabic)
    inner_pages = max(1, -(-len(voters) // rows_per_page))
    title = visual(_station_title(station, center))
    run_date = station.run.created_at.date().isoformat()

    def cover(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setTitle(f"{center.code} station {station.number}")
        canvas.setFont(_font(arabic, bold=True), 22)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 50 * mm, "Station book")
        lines = [
            ("Center", f"{center.code} {center.name}"),
            ("Office", center.office),
            ("Station", str(station.number)),
            ("Gender", _gender_label(station)),
            ("Voters", str(station.voter_count)),
            ("From", station.first_name),
            ("To", station.last_name),
            ("Run date", run_date),
        ]
        y = PAGE_HEIGHT - 70 * mm
        for label, value in lines:
            canvas.setFont(LATIN_BOLD, 13)
            canvas.drawString(MARGIN, y, f"{label}:")
            canvas.setFont(font, 13)
            canvas.drawString(MARGIN + 35 * mm, y, visual(value))
            y -= 10 * mm

    def inner(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFillColor(colors.HexColor("#1d2330"))
        canvas.rect(0, PAGE_HEIGHT - 18 * mm, PAGE_WIDTH, 18 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(font, 12)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 11 * mm, title)
        canvas.setFillColor(colors.black)
        canvas.setFont(LATIN_FONT, 10)
        # The cover is not numbered: inner page 1 is the document's page 2.
        canvas.drawCentredString(
            PAGE_WIDTH / 2, 8 * mm, f"{canvas.getPageNumber() - 1} / {inner_pages}"
        )

    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), LATIN_BOLD, 10),
            ("FONT", (0, 1), (-1, -1), font, 10),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f6")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (2, 1), (2, -1), "RIGHT" if arabic else "LEFT"),
        ]
    )
    header = ["#", "Voter no.", "Full name", "Born", "Signature"]
    story: list = [Spacer(1, 1), PageBreak()]
    for start in range(0, max(1, len(voters)), rows_per_page):
        chunk = voters[start : start + rows_per_page]
        # Plain strings, never Paragraph markup: a name like "<b>" prints as typed.
        data = [header] + [
            [str(pos), number, visual(f"{first} {father} {grand} {family}"), str(year), ""]
            for pos, number, first, father, grand, family, year in chunk
        ]
        # One table per page: one long auto-split table slows down more than linearly.
        story.append(Table(data, colWidths=COLUMN_WIDTHS, rowHeights=ROW_HEIGHT, style=style))
        story.append(PageBreak())
    story.pop()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=22 * mm,
        bottomMargin=15 * mm,
        # Fixed dates and document id: the same station renders to the same bytes.
        invariant=1,
        title=f"{center.code} station {station.number}",
    )
    doc.build(story, onFirstPage=cover, onLaterPages=inner)
    return buffer.getvalue(), 1 + inner_pages


def render_door_sign(station: Station) -> tuple[bytes, int]:
    """Return a one-page PDF to hang on the station's door."""
    center = station.center
    arabic = needs_arabic(center.name, station.first_name, station.last_name)
    ensure_fonts(arabic=arabic)
    font = _font(arabic, bold=True)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(f"{center.code} station {station.number} door sign")
    middle = PAGE_WIDTH / 2
    canvas.setFont(font, 28)
    canvas.drawCentredString(middle, PAGE_HEIGHT - 50 * mm, visual(f"{center.code} {center.name}"))
    canvas.setFont(LATIN_BOLD, 96)
    canvas.drawCentredString(middle, PAGE_HEIGHT - 120 * mm, str(station.number))
    canvas.setFont(LATIN_BOLD, 28)
    canvas.drawCentredString(middle, PAGE_HEIGHT - 145 * mm, f"Station ({_gender_label(station)})")
    canvas.setFont(font, 20)
    canvas.drawCentredString(middle, PAGE_HEIGHT - 175 * mm, visual(station.first_name))
    canvas.drawCentredString(middle, PAGE_HEIGHT - 185 * mm, "to")
    canvas.drawCentredString(middle, PAGE_HEIGHT - 195 * mm, visual(station.last_name))
    canvas.drawCentredString(middle, PAGE_HEIGHT - 220 * mm, f"{station.voter_count} voters")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue(), 1


def render_center_list(center: Center, stations: list[Station]) -> tuple[bytes, int]:
    """Return a PDF listing a center's stations with the range of names of each."""
    arabic = needs_arabic(center.name, *(s.first_name for s in stations[:1]))
    ensure_fonts(arabic=arabic)
    font = _font(arabic)
    # 22 rows: a station row with two names is taller than a voter row.
    per_page = 22
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), LATIN_BOLD, 10),
            ("FONT", (0, 1), (-1, -1), font, 9),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f6")),
        ]
    )
    title = visual(f"{center.code} {center.name} - {len(stations)} stations")

    def band(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFont(font, 14)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 15 * mm, title)
        canvas.setFont(LATIN_FONT, 10)
        canvas.drawCentredString(PAGE_WIDTH / 2, 8 * mm, str(canvas.getPageNumber()))

    story: list = []
    header = ["Station", "Gender", "Voters", "From", "To"]
    for start in range(0, max(1, len(stations)), per_page):
        rows = [header] + [
            [
                str(s.number),
                _gender_label(s),
                str(s.voter_count),
                visual(s.first_name),
                visual(s.last_name),
            ]
            for s in stations[start : start + per_page]
        ]
        story += [
            Table(rows, colWidths=[18 * mm, 20 * mm, 18 * mm, 62 * mm, 62 * mm], style=style),
            PageBreak(),
        ]
    story.pop()
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, topMargin=25 * mm, invariant=1, title=f"{center.code} stations"
    ).build(story, onFirstPage=band, onLaterPages=band)
    return buffer.getvalue(), max(1, -(-len(stations) // per_page))
