"""Draw station books, door signs and center lists on reportlab's canvas.

Drawing is pure: every ``render_*`` function takes rows already read and returns the
PDF's bytes and page count. A book is drawn at canvas level, not with Platypus: the
parts every page shares (header band, column heads, grid) are one Form XObject drawn
once and placed on each page, and each column's cells are one text object. That is
several times less CPU and a smaller file than a Platypus table per page.

A center whose locale is ``ar`` gets books entirely in Arabic, laid out right to left
in one font family (Amiri) for both scripts. Digits are Western (0-9) in every book,
as in the Maghreb: one system for both scripts, and a voter number on paper reads the
same as in the register and the SMS lookup.
"""

from __future__ import annotations

import io
import os
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import arabic_reshaper
from bidi import algorithm as bidi_algorithm
from bidi import get_display
from django.conf import settings
from reportlab.lib.colors import HexColor, black, grey, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import unicode2T1
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from voterroll.models import Center, Station
from voterroll.stations import split_evenly

ARABIC_PACKAGE = "fonts-hosny-amiri"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
BAND_HEIGHT = 18 * mm
# The table starts 4 mm under the band; the page number sits in the bottom margin.
TABLE_TOP = PAGE_HEIGHT - BAND_HEIGHT - 4 * mm
TABLE_BOTTOM = 15 * mm
# 9 mm rows: room for a signature, and 25 of them fit between the band and the footer.
ROW_HEIGHT = 9 * mm
# Points of space between a cell's border and its text.
PADDING = 2 * mm
TEXT_SIZE = 10
# 6.5 pt: the smallest size a name is shrunk to before it is cut; still readable
# printed, and about two thirds of the normal size.
FLOOR_SIZE = 6.5
ELLIPSIS = "\u2026"
BAND_COLOR = HexColor("#1d2330")
HEAD_COLOR = HexColor("#eef1f6")

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# Words of Arabic letters (and harakat) only, one space apart: bidi classes AL and NSM,
# no digits or punctuation.
_LETTERS = "[\u0621-\u065f\u066e-\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06ff]+"
_ARABIC_WORDS = re.compile(f"{_LETTERS}(?: {_LETTERS})*")


class FontMissing(Exception):
    """The Arabic font is not installed; the message says which package to install."""


@dataclass(frozen=True)
class Fonts:
    """One family that draws every word of a document, and how it draws bold."""

    regular: str
    bold: str
    # Bold drawn as the regular face filled and outlined (text render mode 2), with
    # an outline this share of the size wide.
    outline: float = 0.0


LATIN_FONTS = Fonts("Helvetica", "Helvetica-Bold")
# Amiri carries Latin letters and digits too, so a document that needs it draws every
# word with it: one family, one set of digits, one baseline for both scripts. Its bold
# is the regular face outlined: every TrueType face a PDF uses is embedded in it, and a
# second one (Amiri Bold) cost 2 ms more per book and per door sign.
ARABIC_FONTS = Fonts("Amiri", "Amiri", outline=0.035)


@dataclass(frozen=True)
class Language:
    """The words a document prints, and which way its lines and columns run."""

    code: str
    rtl: bool
    words: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.words[key]


ENGLISH = Language(
    "en",
    rtl=False,
    words={
        "book": "Station book",
        "center": "Center",
        "office": "Office",
        "station": "Station",
        "gender": "Gender",
        "voters": "Voters",
        "from": "From",
        "to": "To",
        "run_date": "Run date",
        "row": "#",
        "number": "Voter no.",
        "name": "Full name",
        "born": "Born",
        "signature": "Signature",
        "M": "male",
        "F": "female",
        "U": "unisex",
        "band": "{code} {center} - station {station} ({gender})",
        "page": "Page {page} of {pages}",
        "door_station": "Station ({gender})",
        "door_to": "to",
        "door_voters": "{count} voters",
        "list_title": "{code} {center} - {count} stations",
    },
)
# The words of the Libyan High National Elections Commission's rolls: a polling center
# is a "مركز الاقتراع", a station a "محطة".
ARABIC = Language(
    "ar",
    rtl=True,
    words={
        "book": "سجل ناخبي المحطة",
        "center": "المركز",
        "office": "المكتب",
        "station": "المحطة",
        "gender": "الجنس",
        "voters": "عدد الناخبين",
        "from": "من",
        "to": "إلى",
        "run_date": "تاريخ الإصدار",
        "row": "م",
        "number": "رقم الناخب",
        "name": "الاسم الرباعي",
        "born": "سنة الميلاد",
        "signature": "التوقيع",
        "M": "ذكور",
        "F": "إناث",
        "U": "مختلط",
        "band": "مركز الاقتراع {code} {center} - المحطة {station} ({gender})",
        "page": "صفحة {page} من {pages}",
        "door_station": "المحطة ({gender})",
        "door_to": "إلى",
        "door_voters": "عدد الناخبين: {count}",
        "list_title": "مركز الاقتراع {code} {center} - عدد المحطات: {count}",
    },
)


def language_of(center: Center) -> Language:
    """Return the language a center's documents are printed in."""
    return ARABIC if center.locale == "ar" else ENGLISH


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
    if ARABIC_FONTS.regular not in pdfmetrics.getRegisteredFontNames():
        # Not ASCII-readable: otherwise every subset holds the 128 ASCII glyphs, used or
        # not, and embedding them doubles the time a door sign takes.
        pdfmetrics.registerFont(TTFont(ARABIC_FONTS.regular, path, asciiReadable=False))


def needs_arabic(*texts: str) -> bool:
    """Return whether any text holds Arabic letters."""
    return any(_ARABIC.search(text) for text in texts)


def _fonts(language: Language, *texts: str) -> Fonts:
    """The family for a document: Amiri when it is Arabic or prints any Arabic letter."""
    arabic = language.rtl or needs_arabic(*texts)
    ensure_fonts(arabic=arabic)
    return ARABIC_FONTS if arabic else LATIN_FONTS


# Bidi: text is stored in reading (logical) order; a PDF draws glyphs left to right, so
# Arabic is shaped (contextual letter forms) and reordered before it is drawn.


def visual(text: str) -> str:
    """Return one value (a name, a code) in drawing order, in its own direction.

    The value is isolated: its direction comes from its first strong letter, whatever
    surrounds it, as between the Unicode isolates FSI and PDI.
    """
    if not _ARABIC.search(text):
        # Latin text is drawn as it is; caching it would only fill the caches below
        # (a worker's memory grew by the cache's size over a million Latin names).
        return text
    if _ARABIC_WORDS.fullmatch(text):
        # Arabic letters only: the words in reverse order, each shaped and reversed.
        # Names are made of a few thousand words, so this is cached per word; a cache
        # of whole names would miss almost every time.
        return " ".join([_shaped_word(word) for word in reversed(text.split(" "))])
    return _shaped(text)


@lru_cache(maxsize=65_536)
def _shaped_word(word: str) -> str:
    return get_display(arabic_reshaper.reshape(word), base_dir="R")


# python-bidi's pure-Python algorithm: unlike its Rust one, it mirrors brackets ("(" is
# drawn as ")" inside right-to-left text). Only mixed values and labels come here.
@lru_cache(maxsize=4096)
def _shaped(text: str, base: str | None = None) -> str:
    return bidi_algorithm.get_display(arabic_reshaper.reshape(text), base_dir=base)


@lru_cache(maxsize=256)
def _pieces(template: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((literal, field) for literal, field, _, _ in string.Formatter().parse(template))


def compose(language: Language, template: str, **values: object) -> str:
    """Fill a template of the language with values; return the line in drawing order.

    Every value is isolated from the words around it (as between FSI and PDI), so a
    count stays after a center's name and a Latin code does not drag its neighbours
    along: in a right-to-left line the pieces are laid out right to left, each value in
    its own direction inside its piece.
    """
    drawn: list[str] = []
    for literal, field in _pieces(template):
        if literal:
            drawn.append(_shaped(literal, "R") if language.rtl else literal)
        if field is not None:
            drawn.append(visual(str(values[field])))
    if language.rtl:
        drawn.reverse()
    return "".join(drawn)


def word(language: Language, key: str) -> str:
    """Return one of the language's words, in drawing order."""
    return compose(language, language[key])


@lru_cache(maxsize=64)
def _digit_width(font: str) -> float | None:
    """The width of every Western digit at size 1, if the font gives them one width."""
    widths = {pdfmetrics.stringWidth(digit, font, 1) for digit in "0123456789"}
    return widths.pop() if len(widths) == 1 else None


# (drawn text, size, width) and (drawn text, size, x) of a cell's value.
Fitted = tuple[str, float, float]
Placed = tuple[str, float, float]


def fit(text: str, font: str, size: float, room: float) -> Fitted:
    """Return (drawn text, size, width) of a value fitted into ``room`` points.

    Too wide a value is shrunk, down to FLOOR_SIZE; still too wide, it is cut at its
    end (the left in Arabic) with an ellipsis. Widths come from the font's metrics
    (stringWidth), so the result never overflows its cell.
    """
    if text.isdigit() and text.isascii() and (digit := _digit_width(font)):
        # Numbers fill most cells: no lookup per character when digits share a width.
        width = digit * size * len(text)
        if width <= room:
            return text, size, width
    shown = visual(text)
    width = pdfmetrics.stringWidth(shown, font, size)
    if width <= room:
        return shown, size, width
    # Width grows linearly with size; rounding down to 0.1 pt keeps it within room.
    smaller = int(size * room / width * 10) / 10
    if smaller >= FLOOR_SIZE:
        return shown, smaller, width * smaller / size
    size = FLOOR_SIZE
    kept, low, high = ELLIPSIS, 0, len(text)
    # The longest start of the value that fits with an ellipsis after it.
    while low < high:
        middle = (low + high + 1) // 2
        candidate = visual(text[:middle].rstrip() + ELLIPSIS)
        if pdfmetrics.stringWidth(candidate, font, size) <= room:
            kept, low = candidate, middle
        else:
            high = middle - 1
    return kept, size, pdfmetrics.stringWidth(kept, font, size)


def _shrunk(shown: str, font: str, size: float, room: float) -> float:
    """The size at which a line already in drawing order fits ``room`` points."""
    width = pdfmetrics.stringWidth(shown, font, size)
    return size if width <= room else int(size * room / width * 10) / 10


class _Unprepared(dict):
    """A str.translate table that drops characters it has no code for."""

    def __missing__(self, key: int) -> None:
        return None


class Encoder:
    """Turns text into the PDF strings of one font in one document.

    What reportlab's text object does per string, without looking the font up each
    time: a Type 1 font encodes through its encoding (ASCII as is), a TrueType font
    through the document's subsets of the font. A TrueType font's characters can be
    given codes up front (``prepare``); text made only of those is then encoded with
    one ``str.translate``.
    """

    def __init__(self, canvas: Canvas, font: str) -> None:
        # reportlab has no public call that adds text operators with their font
        # resources; its own text object reaches the document the same way.
        self.doc = canvas._doc
        self.font = pdfmetrics.getFont(font)
        self.true_type = bool(self.font._dynamicFont)
        self.fallbacks = [self.font, *getattr(self.font, "substitutionFonts", [])]
        self.resource = "" if self.true_type else self.doc.getInternalFontName(font)
        self.table = _Unprepared()

    def prepare(self, texts: Iterable[str]) -> None:
        """Give every character of ``texts`` its code now, the most used ones first.

        A subset's codes are handed out from 1, skipping 32 (the space); in a PDF
        string codes 33 to 126 are one byte each, any other is a four-byte escape.
        The least used 31 characters take codes 1 to 31 and the most used the next
        ones, which halves an Arabic book's text before compression.
        """
        if not self.true_type:
            return
        counts = Counter("".join(texts))
        # Most used first; ties in code point order, so the same book gets the same codes.
        ranked = sorted(counts, key=lambda character: (-counts[character], character))
        characters = ranked[-31:][::-1] + ranked[:-31] if len(ranked) > 31 else ranked
        table: dict[int, str] = {}
        position = 0
        # One byte per character, in the order given.
        for subset, chunk in self.font.splitString("".join(characters), self.doc):
            if subset == 0:
                mine = characters[position : position + len(chunk)]
                table.update(zip(map(ord, mine), map(chr, chunk), strict=True))
            position += len(chunk)
        self.table = _Unprepared(table)
        self.resource = self.font.getSubsetInternalName(0, self.doc)

    def chunks(self, text: str) -> list[tuple[str, bytes]]:
        """Return (font resource, bytes) pieces that show ``text``."""
        if self.true_type:
            translated = text.translate(self.table)
            if len(translated) == len(text):
                return [(self.resource, translated.encode("latin-1"))]
            return [
                (self.font.getSubsetInternalName(subset, self.doc), chunk)
                for subset, chunk in self.font.splitString(text, self.doc)
            ]
        if text.isascii():
            # WinAnsi and the standard encoding agree with ASCII on printable characters.
            return [(self.resource, text.encode())]
        return [
            (self.doc.getInternalFontName(font.fontName), chunk)
            for font, chunk in unicode2T1(text, self.fallbacks)
        ]


class TextRun:
    """One text object whose lines are one leading apart; its operators written here.

    reportlab's text object measures every string it shows to move its cursor; a roll
    shows about a hundred cells a page and knows their widths already, so this writes
    the same operators (Tm, Td, Tf, TL, Tj, T*) without that.
    """

    def __init__(
        self, encoder: Encoder, size: float, leading: float, *, outline: float = 0.0
    ) -> None:
        self.encoder = encoder
        self.size = size
        self.row_leading = leading
        self.leading = fp_str(leading)
        # Outlined (bold) text: fill and stroke, reset at the end of the object.
        self.code = ["BT", f"{fp_str(outline * size)} w 2 Tr"] if outline else ["BT"]
        self.outlined = bool(outline)
        self.resource = ""

    def lines(self, cells: Sequence[Placed | None], top: float) -> None:
        """Show placed cells one line apart, the first on baseline ``top``; None skips
        a line."""
        add, chunks, row_leading = self.code.append, self.encoder.chunks, self.row_leading
        line_x = None
        for row, cell in enumerate(cells):
            if cell is None:
                if line_x is not None:
                    add("T*")
                continue
            shown, size, x = cell
            if line_x is None:
                add(f"1 0 0 1 {fp_str(x, top - row * row_leading)} Tm")
            elif x != line_x:
                add(f"{fp_str(x - line_x)} 0 Td")
            line_x = x
            if size != self.size:
                self.size, self.resource = size, ""
            for resource, chunk in chunks(shown):
                if resource != self.resource:
                    add(f"{resource} {fp_str(size)} Tf {self.leading} TL")
                    self.resource = resource
                add(f"({escapePDF(chunk)}) Tj")
            add("T*")

    def code_text(self) -> str:
        return " ".join([*self.code, "0 Tr ET" if self.outlined else "ET"])


class Document:
    """A PDF being drawn: its canvas, and an encoder per font."""

    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        # invariant: fixed dates and document id, so the same input gives the same bytes.
        self.canvas = Canvas(self.buffer, pagesize=A4, invariant=1)
        self.canvas.setTitle(title)
        self.encoders: dict[str, Encoder] = {}

    def encoder(self, font: str) -> Encoder:
        if font not in self.encoders:
            self.encoders[font] = Encoder(self.canvas, font)
        return self.encoders[font]

    def text(self, run: TextRun) -> None:
        self.canvas.addLiteral(run.code_text())

    def finish(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


@dataclass(frozen=True)
class Column:
    key: str
    width: float
    # "center", "start" (left in Latin, right in Arabic) or "" for a column left blank.
    align: str


# Row number, voter number, full name, birth year, signature: 180 mm of A4's 210 mm.
BOOK_COLUMNS = (
    Column("row", 12 * mm, "center"),
    Column("number", 28 * mm, "center"),
    Column("name", 90 * mm, "start"),
    Column("born", 20 * mm, "center"),
    Column("signature", 30 * mm, ""),
)
LIST_COLUMNS = (
    Column("station", 20 * mm, "center"),
    Column("gender", 20 * mm, "center"),
    Column("voters", 20 * mm, "center"),
    Column("from", 60 * mm, "start"),
    Column("to", 60 * mm, "start"),
)


class Table:
    """Columns laid out on a page in the language's direction, with their grid and text."""

    def __init__(
        self, columns: Sequence[Column], language: Language, fonts: Fonts, row_height: float
    ) -> None:
        self.columns = columns
        self.language = language
        self.fonts = fonts
        self.row_height = row_height
        # (left, right) of each column; in Arabic the first column is the rightmost.
        spans, left = [], MARGIN
        for column in columns:
            spans.append((left, left + column.width))
            left += column.width
        if language.rtl:
            spans = [(PAGE_WIDTH - right, PAGE_WIDTH - left) for left, right in spans]
        self.spans = spans
        self.rooms = [right - left - 2 * PADDING for left, right in spans]

    def place(
        self, index: int, values: Iterable[str], font: str | None = None, align: str = ""
    ) -> list[Placed | None]:
        """Fit values (in reading order) to column ``index`` and place them: (drawn
        text, size, x) for each, None for a blank. ``align`` overrides the column's."""
        column, (left, right), room = self.columns[index], self.spans[index], self.rooms[index]
        font = font or self.fonts.regular
        align = align or column.align
        placed: list[Placed | None] = []
        for value in values:
            if not value or not align:
                placed.append(None)
                continue
            shown, size, width = fit(value, font, TEXT_SIZE, room)
            if align == "center":
                x = (left + right - width) / 2
            elif self.language.rtl:
                x = right - PADDING - width
            else:
                x = left + PADDING
            placed.append((shown, size, x))
        return placed

    def baseline(self, row: int) -> float:
        """The baseline of a row's text, centred in the row; row 0 is the column heads."""
        bottom = TABLE_TOP - (row + 1) * self.row_height
        # 0.7: about the height of a capital or digit, as a share of the font size.
        return bottom + (self.row_height - 0.7 * TEXT_SIZE) / 2

    def draw_grid(self, document: Document, rows: int) -> None:
        """Draw the column heads and the grid of ``rows`` rows."""
        canvas = document.canvas
        left, right = min(s[0] for s in self.spans), max(s[1] for s in self.spans)
        canvas.setFillColor(HEAD_COLOR)
        canvas.rect(left, TABLE_TOP - self.row_height, right - left, self.row_height, 0, 1)
        canvas.setFillColor(black)
        heads = [
            self.place(
                index, [self.language[column.key]], self.fonts.bold, column.align or "center"
            )
            for index, column in enumerate(self.columns)
        ]
        self.draw_columns(document, heads, bold=True, first_row=0)
        canvas.setStrokeColor(grey)
        canvas.setLineWidth(0.5)
        xs = sorted({x for span in self.spans for x in span})
        canvas.grid(xs, [TABLE_TOP - i * self.row_height for i in range(rows + 2)])

    def draw_columns(
        self,
        document: Document,
        columns: Sequence[Sequence[Placed | None]],
        *,
        bold: bool = False,
        first_row: int = 1,
    ) -> None:
        """Write placed cells, one text object per column, from row ``first_row`` down.

        Lines follow each other one row apart (the text leading), so a cell costs its
        string and a "next line", plus a move when its x differs from the cell above.
        """
        encoder = document.encoder(self.fonts.bold if bold else self.fonts.regular)
        outline = self.fonts.outline if bold else 0.0
        for cells in columns:
            if any(cells):
                text = TextRun(encoder, TEXT_SIZE, self.row_height, outline=outline)
                text.lines(cells, self.baseline(first_row))
                document.text(text)


def _page_sizes(count: int, rows_per_page: int) -> list[int]:
    """Rows on each page: as even as possible, so no last page holds a lone voter."""
    return split_evenly(count, station_max=rows_per_page) or [0]


def _row_height(rows_per_page: int) -> float:
    # More rows than fit at 9 mm (ROLL_ROWS_PER_PAGE raised) get thinner rows.
    return min(ROW_HEIGHT, (TABLE_TOP - TABLE_BOTTOM) / (rows_per_page + 1))


def _page_number(
    document: Document, language: Language, fonts: Fonts, page: int, pages: int
) -> None:
    label = compose(language, language["page"], page=page, pages=pages)
    width = pdfmetrics.stringWidth(label, fonts.regular, TEXT_SIZE)
    text = TextRun(document.encoder(fonts.regular), TEXT_SIZE, TEXT_SIZE)
    text.lines([(label, TEXT_SIZE, (PAGE_WIDTH - width) / 2)], 8 * mm)
    document.text(text)


def _write(
    canvas: Canvas,
    language: Language,
    fonts: Fonts,
    text: str,
    *,
    size: float,
    y: float,
    bold: bool = False,
    centred: bool = False,
    indent: float = 0.0,
) -> None:
    """Draw one line already in drawing order, shrunk to fit between the margins: centred,
    or from the line's start (the left margin in Latin, the right in Arabic) ``indent``
    further in."""
    font = fonts.bold if bold else fonts.regular
    canvas.setFont(font, _shrunk(text, font, size, PAGE_WIDTH - 2 * MARGIN - indent))
    mode = None
    if bold and fonts.outline:
        canvas.setLineWidth(fonts.outline * size)
        canvas.setStrokeColor(black)
        mode = 2
    if centred:
        canvas.drawCentredString(PAGE_WIDTH / 2, y, text, mode=mode)
    elif language.rtl:
        canvas.drawRightString(PAGE_WIDTH - MARGIN - indent, y, text, mode=mode)
    else:
        canvas.drawString(MARGIN + indent, y, text, mode=mode)


VoterRow = tuple[int, str, str, str, str, str, int]


def render_station_book(
    station: Station, voters: Sequence[VoterRow], *, rows_per_page: int | None = None
) -> tuple[bytes, int]:
    """Return the PDF of one station's book and its page count: a cover, then voter pages.

    ``voters`` are (position, number, first, father, grandfather, family, birth year)
    in book order. Pages are numbered "n of N" counting the cover as page 1, so the
    printed number is the file's page number. Rows are spread evenly over the pages.
    """
    rows_per_page = rows_per_page or settings.ROLL_ROWS_PER_PAGE
    center = station.center
    language = language_of(center)
    names = [
        f"{first} {father} {grand} {family}" for _, _, first, father, grand, family, _ in voters
    ]
    fonts = _fonts(language, center.name, center.office, *names)
    table = Table(BOOK_COLUMNS, language, fonts, _row_height(rows_per_page))
    columns = [
        table.place(0, [str(row[0]) for row in voters]),
        table.place(1, [row[1] for row in voters]),
        table.place(2, names),
        table.place(3, [str(row[6]) for row in voters]),
    ]
    sizes = _page_sizes(len(voters), rows_per_page)
    pages = 1 + len(sizes)
    document = Document(f"{center.code} station {station.number}")
    canvas = document.canvas
    # Every character of the names, in one set of codes: one translate per name.
    document.encoder(fonts.regular).prepare(
        [cell[0] for cells in columns for cell in cells if cell] + ["0123456789"]
    )
    gender = language[station.gender]

    _draw_cover(canvas, language, fonts, station, gender)
    _page_number(document, language, fonts, 1, pages)
    canvas.showPage()

    band = compose(
        language,
        language["band"],
        code=center.code,
        center=center.name,
        station=station.number,
        gender=gender,
    )
    _draw_voter_pages(document, table, columns, sizes, band=band, language=language, fonts=fonts)
    return document.finish(), pages


def _draw_voter_pages(
    document: Document,
    table: Table,
    columns: list[list[Placed | None]],
    sizes: list[int],
    *,
    band: str,
    language: Language,
    fonts: Fonts,
) -> None:
    """Draw the voter pages after the cover, ``sizes[i]`` rows on page ``i + 2``."""
    canvas = document.canvas
    pages = 1 + len(sizes)
    forms: set[int] = set()
    start = 0
    for page, size in enumerate(sizes, start=2):
        if size not in forms:
            # What every page with this many rows shares, drawn once per book.
            canvas.beginForm(f"page{size}")
            _draw_band(canvas, language, fonts, band)
            table.draw_grid(document, size)
            canvas.endForm()
            forms.add(size)
        canvas.doForm(f"page{size}")
        table.draw_columns(document, [cells[start : start + size] for cells in columns])
        _page_number(document, language, fonts, page, pages)
        canvas.showPage()
        start += size


def _draw_band(canvas: Canvas, language: Language, fonts: Fonts, title: str) -> None:
    canvas.setFillColor(BAND_COLOR)
    canvas.rect(0, PAGE_HEIGHT - BAND_HEIGHT, PAGE_WIDTH, BAND_HEIGHT, stroke=0, fill=1)
    canvas.setFillColor(white)
    _write(canvas, language, fonts, title, size=12, y=PAGE_HEIGHT - 11 * mm)
    canvas.setFillColor(black)


def _draw_cover(
    canvas: Canvas, language: Language, fonts: Fonts, station: Station, gender: str
) -> None:
    center = station.center
    _write(
        canvas, language, fonts, word(language, "book"), size=22, y=PAGE_HEIGHT - 50 * mm, bold=True
    )
    lines = [
        ("center", compose(language, "{code} {name}", code=center.code, name=center.name)),
        ("office", visual(center.office)),
        ("station", str(station.number)),
        ("gender", visual(gender)),
        ("voters", str(station.voter_count)),
        ("from", visual(station.first_voter_name)),
        ("to", visual(station.last_voter_name)),
        ("run_date", station.run.created_at.date().isoformat()),
    ]
    y = PAGE_HEIGHT - 70 * mm
    for label, value in lines:
        label = compose(language, "{label}:", label=language[label])
        _write(canvas, language, fonts, label, size=13, y=y, bold=True)
        _write(canvas, language, fonts, value, size=13, y=y, indent=35 * mm)
        y -= 10 * mm


def render_door_sign(station: Station) -> tuple[bytes, int]:
    """Return a one-page PDF to hang on the station's door."""
    center = station.center
    language = language_of(center)
    fonts = _fonts(language, center.name, station.first_voter_name, station.last_voter_name)
    document = Document(f"{center.code} station {station.number} door sign")
    canvas = document.canvas
    gender = language[station.gender]
    # (bold, size, mm below the top of the page, line)
    lines = [
        (True, 28, 50, compose(language, "{c} {n}", c=center.code, n=center.name)),
        (True, 96, 120, str(station.number)),
        (True, 28, 145, compose(language, language["door_station"], gender=gender)),
        (False, 20, 175, visual(station.first_voter_name)),
        (False, 20, 185, word(language, "door_to")),
        (False, 20, 195, visual(station.last_voter_name)),
        (False, 20, 220, compose(language, language["door_voters"], count=station.voter_count)),
    ]
    for bold, size, below_top, text in lines:
        y = PAGE_HEIGHT - below_top * mm
        _write(canvas, language, fonts, text, size=size, y=y, bold=bold, centred=True)
    canvas.showPage()
    return document.finish(), 1


# 22 station rows a page, under the list's title.
LIST_ROWS_PER_PAGE = 22


def book_pages(voters: int, *, rows_per_page: int | None = None) -> int:
    """The pages of a station book of ``voters`` voters: a cover and the voter pages."""
    return 1 + len(_page_sizes(voters, rows_per_page or settings.ROLL_ROWS_PER_PAGE))


def center_list_pages(stations: int) -> int:
    """The pages of a center list of ``stations`` stations."""
    return len(_page_sizes(stations, LIST_ROWS_PER_PAGE))


def render_center_list(center: Center, stations: Sequence[Station]) -> tuple[bytes, int]:
    """Return a PDF listing a center's stations with the range of names of each."""
    language = language_of(center)
    names = [name for s in stations for name in (s.first_voter_name, s.last_voter_name)]
    fonts = _fonts(language, center.name, *names)
    sizes = _page_sizes(len(stations), LIST_ROWS_PER_PAGE)
    document = Document(f"{center.code} stations")
    canvas = document.canvas
    table = Table(LIST_COLUMNS, language, fonts, ROW_HEIGHT)
    title = compose(
        language, language["list_title"], code=center.code, center=center.name, count=len(stations)
    )
    columns = [
        table.place(0, [str(s.number) for s in stations]),
        table.place(1, [language[s.gender] for s in stations]),
        table.place(2, [str(s.voter_count) for s in stations]),
        table.place(3, [s.first_voter_name for s in stations]),
        table.place(4, [s.last_voter_name for s in stations]),
    ]
    start = 0
    for page, size in enumerate(sizes, start=1):
        _write(canvas, language, fonts, title, size=14, y=PAGE_HEIGHT - 15 * mm, bold=True)
        table.draw_grid(document, size)
        table.draw_columns(document, [cells[start : start + size] for cells in columns])
        _page_number(document, language, fonts, page, len(sizes))
        canvas.showPage()
        start += size
    return document.finish(), len(sizes)
