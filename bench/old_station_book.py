"""The station-book renderer the roll used before the canvas one: a Platypus table per page.

Kept here, outside the application, only so ``bench/rollgen.py`` can compare the two on
the same stations in the same run. It is the code as it was, except that it takes the
station's voter rows instead of reading them itself (as the new renderer does), so both
are timed on drawing alone.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache

import arabic_reshaper
from bidi import get_display
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

from voterroll.models import Center, Station
from voterroll.pdfs import ensure_fonts

LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
ARABIC_FONT = "Amiri"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
ROW_HEIGHT = 9 * mm
COLUMN_WIDTHS = [12 * mm, 28 * mm, 90 * mm, 18 * mm, 32 * mm]
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def needs_arabic(*texts: str) -> bool:
    return any(_ARABIC.search(text) for text in texts)


def visual(text: str) -> str:
    if not _ARABIC.search(text):
        return text
    return _shaped(text)


@lru_cache(maxsize=65_536)
def _shaped(text: str) -> str:
    return get_display(arabic_reshaper.reshape(text))


def _font(arabic: bool, bold: bool = False) -> str:
    if arabic:
        return ARABIC_FONT
    return LATIN_BOLD if bold else LATIN_FONT


def _gender_label(station: Station) -> str:
    return station.get_gender_display()


def _station_title(station: Station, center: Center) -> str:
    return f"{center.code} {center.name} - station {station.number} ({_gender_label(station)})"


def render_station_book(
    station: Station, voters: list[tuple], *, rows_per_page: int = 25
) -> tuple[bytes, int]:
    """Return the PDF of one station's book and its pages: a cover, then voter tables."""
    center = station.center
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
            ("From", station.first_voter_name),
            ("To", station.last_voter_name),
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
