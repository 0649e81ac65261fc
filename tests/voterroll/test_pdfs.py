"""Station books, door signs and center lists, read back with pypdf."""

import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.pdfmetrics import stringWidth

from tests.factories import make_center, make_voters
from voterroll import pdfs, rolls
from voterroll.models import Assignment, RollRun, Station, Voter
from voterroll.stations import assign_stations

pytestmark = pytest.mark.django_db

# Every word an English book prints besides the data (names, numbers, dates).
ENGLISH_LABELS = {
    "Station book", "Center", "Office", "Station", "Gender", "Voters", "From", "To",
    "Run date", "Voter no.", "Full name", "Born", "Signature", "Page",
}  # fmt: skip
ARABIC_LABELS = {
    "سجل ناخبي المحطة", "المركز", "المكتب", "المحطة", "الجنس", "عدد الناخبين", "من",
    "إلى", "تاريخ الإصدار", "رقم الناخب", "الاسم الرباعي", "سنة الميلاد", "التوقيع",
    "صفحة",
}  # fmt: skip
ARABIC_NAMES = [("بهية", "مقداد"), ("تمام", "سراج"), ("عبد الله", "الزوي"), ("نور", "بن علي")]


@dataclass(frozen=True)
class Shown:
    """One string a page shows, as pypdf reads it back (in reading order)."""

    text: str
    raw: str
    x: float
    y: float
    size: float
    font: str


def _texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _reading(text: str) -> str:
    # Shaped Arabic is drawn in presentation forms; NFKC folds them to plain letters.
    return unicodedata.normalize("NFKC", text)


def _shown(data: bytes, page: int) -> list[Shown]:
    """Every string shown on a page, with where it starts and its font size."""
    found: list[Shown] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            name = font.get("/BaseFont", "") if font else ""
            raw = text.strip()
            found.append(Shown(_reading(raw), raw, tm[4], tm[5], size * tm[0], str(name)))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return found


@dataclass(frozen=True)
class Extent:
    """Where one string a page's content shows starts and ends, from the PDF alone."""

    left: float
    right: float
    y: float
    size: float


def _extents(data: bytes, page: int) -> list[Extent]:
    """Every string the page's own content shows (not its forms), measured with the widths
    its fonts declare in the file (the standard 14 fonts declare none: their metrics are
    fixed by the PDF specification, and reportlab has them)."""
    reader = PdfReader(io.BytesIO(data))
    content = reader.pages[page]
    fonts = {name: font.get_object() for name, font in content["/Resources"]["/Font"].items()}
    found: list[Extent] = []
    x = y = line_x = line_y = size = leading = 0.0
    font = None
    for operands, operator in ContentStream(content.get_contents(), reader).operations:
        if operator == b"Tf":
            font, size = fonts[operands[0]], float(operands[1])
        elif operator == b"TL":
            leading = float(operands[0])
        elif operator == b"Tm":
            x = line_x = float(operands[4])
            y = line_y = float(operands[5])
        elif operator == b"Td":
            x = line_x = line_x + float(operands[0])
            y = line_y = line_y + float(operands[1])
        elif operator == b"T*":
            x, y = line_x, line_y = line_x, line_y - leading
        elif operator == b"Tj":
            raw = operands[0]
            codes = raw.get_original_bytes() if hasattr(raw, "get_original_bytes") else bytes(raw)
            if "/Widths" in font:
                first, widths = font["/FirstChar"], font["/Widths"]
                width = sum(widths[code - first] for code in codes) * size / 1000
            else:
                width = stringWidth(codes.decode("cp1252"), font["/BaseFont"][1:], size)
            found.append(Extent(x, x + width, y, size))
            x += width
    return found


def _book(station: Station) -> tuple[bytes, int]:
    rows = Assignment.objects.book_rows_of([station.id])
    return pdfs.render_station_book(station, rows.get(station.id, []))


def _one_station(names, *, center=None, **names_of_parents) -> Station:
    center = center or make_center()
    make_voters(center, names, **names_of_parents)
    run = RollRun.objects.create()
    # A station max above the count keeps every voter in one unisex station.
    assign_stations(run, station_max=1000, unisex_threshold=1000)
    return Station.objects.select_related("center", "run").get(run=run)


def _arabic_center():
    return make_center(name="مدرسة النور", office="مكتب 01", locale="ar")


def _numbers_in(texts: list[str]) -> Counter:
    numbers = set(Voter.objects.values_list("number", flat=True))
    return Counter(word for text in texts for word in text.split() if word in numbers)


def test_pages_are_numbered_as_the_file_counts_them_cover_first(settings):
    settings.ROLL_ROWS_PER_PAGE = 25
    station = _one_station([(f"First{n:02d}", f"Family{n:02d}") for n in range(60)])

    data, pages = _book(station)

    texts = _texts(data)
    assert pages == len(texts) == 1 + 3
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of 4" in text
    cover = texts[0]
    assert "Station book" in cover
    assert "C0001 Central School" in cover
    assert "Station:\n1\n" in cover
    assert "Voters:\n60\n" in cover
    assert station.run.created_at.date().isoformat() in cover
    # 60 voters on three pages: 20 each, in name order.
    assert "First19" in texts[1] and "First20" in texts[2]
    assert "First39" in texts[2] and "First40" in texts[3]


@pytest.mark.parametrize(("voters", "rows"), [(26, [13, 13]), (51, [17, 17, 17]), (25, [25])])
def test_rows_are_spread_evenly_so_no_last_page_holds_a_few_voters(settings, voters, rows):
    settings.ROLL_ROWS_PER_PAGE = 25
    station = _one_station([(f"First{n:02d}", f"Family{n:02d}") for n in range(voters)])

    data, pages = _book(station)

    assert pages == 1 + len(rows)
    assert [sum(_numbers_in([text]).values()) for text in _texts(data)[1:]] == rows


def test_a_latin_book_prints_english_labels_and_every_voter_once():
    station = _one_station([(f"First{n:02d}", f"Family{n:02d}") for n in range(30)])

    data, _ = _book(station)

    texts = _texts(data)
    everything = "\n".join(texts)
    assert {label for label in ENGLISH_LABELS if label not in everything} == set()
    assert "C0001 Central School - station 1 (unisex)" in texts[1]
    numbers = _numbers_in(texts[1:])
    assert set(numbers) == set(Voter.objects.values_list("number", flat=True))
    assert set(numbers.values()) == {1}
    heads = {s.text: s.x for s in _shown(data, 1) if s.text in ENGLISH_LABELS}
    assert sorted(heads, key=heads.get) == ["Voter no.", "Full name", "Born", "Signature"]


def test_an_arabic_book_is_arabic_throughout_and_runs_right_to_left():
    station = _one_station(
        ARABIC_NAMES * 10, center=_arabic_center(), father="عمر", grandfather="علي"
    )

    data, pages = _book(station)

    texts = [_reading(text) for text in _texts(data)]
    everything = "\n".join(texts)
    assert {label for label in ARABIC_LABELS if label not in everything} == set()
    # No Latin word is left: the only Latin letter printed is the center's code.
    assert set(re.findall("[A-Za-z]+", everything)) == {"C"}
    assert "C0001" in texts[0]
    for number, text in enumerate(texts, start=1):
        # pypdf reorders mixed lines its own way; the order drawn is checked below.
        footer = text.strip().splitlines()[-1]
        assert "صفحة" in footer and "من" in footer
        assert sorted(re.findall("[0-9]+", footer)) == sorted([str(number), str(pages)])
    numbers = _numbers_in(texts[1:])
    assert set(numbers) == set(Voter.objects.values_list("number", flat=True))
    assert set(numbers.values()) == {1}
    assert "بهية عمر علي مقداد" in everything
    assert "عبد الله عمر علي الزوي" in everything

    shown = _shown(data, 1)
    columns = {"م", "رقم الناخب", "الاسم الرباعي", "سنة الميلاد", "التوقيع"}
    heads = {s.text: s.x for s in shown if s.text in columns}
    # Right to left: the row number's column is the rightmost, the signature's leftmost.
    assert sorted(heads, key=heads.get, reverse=True) == [
        "م", "رقم الناخب", "الاسم الرباعي", "سنة الميلاد", "التوقيع",
    ]  # fmt: skip
    head_y = next(s.y for s in shown if s.text == "م")
    first_y = max(s.y for s in shown if s.y < head_y - 1)
    first_row = [s for s in shown if s.y == first_y]
    row, number, name, born = sorted(first_row, key=lambda s: -s.x)
    assert (row.text, born.text) == ("1", "1980")
    assert number.text in numbers and "عمر علي" in name.text
    # Amiri carries both scripts: digits and the center code too.
    assert {s.font.split("+")[-1] for s in shown} == {"Amiri-Regular"}


def test_arabic_names_are_shaped_and_extract_in_reading_order():
    station = _one_station(
        [("بهية", "مقداد"), ("تمام", "سراج")],
        center=_arabic_center(),
        father="عمر",
        grandfather="علي",
    )

    data, _ = _book(station)

    raw = _texts(data)[1]
    # Shaped: drawn with contextual presentation forms, not the bare letters.
    assert "بهية" not in raw
    text = _reading(raw)
    assert "بهية عمر علي مقداد" in text
    assert "تمام عمر علي سراج" in text


@pytest.mark.parametrize("arabic", [False, True], ids=["latin", "arabic"])
def test_a_name_three_times_too_wide_is_cut_inside_its_cell(arabic):
    center = _arabic_center() if arabic else make_center()
    if arabic:
        first, father, grandfather, letters, font = "أمل", "ص" * 40, "علي", "ص" * 9, "Amiri"
    else:
        first, father, grandfather, letters, font = "Amal", "Omar", "Ali", "W" * 9, "Helvetica"
    pdfs.ensure_fonts(arabic=arabic)
    language = pdfs.language_of(center)
    left, right = pdfs.Table(pdfs.BOOK_COLUMNS, language, pdfs.LATIN_FONTS, 1).spans[2]
    # 99 characters: the longest family name the register holds.
    family = " ".join([letters] * 10)
    name = f"{first} {father} {grandfather} {family}"
    assert stringWidth(pdfs.visual(name), font, pdfs.TEXT_SIZE) > 3 * (right - left)
    station = _one_station([(first, family)], center=center, father=father, grandfather=grandfather)

    data, _ = _book(station)

    head_y = next(s.y for s in _shown(data, 1) if s.text in {"م", "#"} or s.text.startswith("#"))
    extents = _extents(data, 1)
    row_y = max(e.y for e in extents if e.y < head_y)
    # The widest string of the first row is the name, wherever it was drawn.
    extent = max((e for e in extents if e.y == row_y), key=lambda e: e.right - e.left)
    assert extent.size == pdfs.FLOOR_SIZE
    assert left < extent.left and extent.right < right
    pieces = [s.raw for s in _shown(data, 1) if s.y == extent.y and left <= s.x < right]
    assert "…" in "".join(pieces)
    # Cut at its end, with an ellipsis: in Arabic the end is read last, on the left.
    drawn, _, _ = pdfs.fit(name, font, pdfs.TEXT_SIZE, right - left - 2 * pdfs.PADDING)
    assert drawn.startswith("…") if arabic else drawn.endswith("…")


def test_a_slightly_long_name_is_shrunk_not_cut():
    family = "Wolfeschlegelsteinhausenbergerdorff-Vorstadt"
    station = _one_station([("Hubert Blaine", family)])

    data, _ = _book(station)

    (cell,) = [s for s in _shown(data, 1) if "Wolfeschlegel" in s.text]
    assert pdfs.FLOOR_SIZE < cell.size < pdfs.TEXT_SIZE
    assert cell.text == f"Hubert Blaine Omar Ali {family}"


def test_user_text_prints_literally():
    station = _one_station([("<font color=red>", "<b>Smith&amp;</b>")])

    data, _ = _book(station)

    assert "<font color=red> Omar Ali <b>Smith&amp;</b>" in _texts(data)[1]


def test_mixed_text_keeps_each_value_in_its_place():
    name = "مدرسة خولان"
    # A Latin line: the count stays after the Arabic name (it used to jump before it).
    latin = pdfs.compose(
        pdfs.ENGLISH, pdfs.ENGLISH["list_title"], code="C0003", center=name, count=2
    )
    assert latin == f"C0003 {pdfs.visual(name)} - 2 stations"
    # An Arabic line runs right to left: drawn left to right, it starts with the count.
    arabic = pdfs.compose(
        pdfs.ARABIC, pdfs.ARABIC["list_title"], code="C0003", center=name, count=2
    )
    words = [pdfs.visual(word) for word in ("مركز الاقتراع", "عدد المحطات:")]
    assert arabic == f"2 {words[1]} - {pdfs.visual(name)} C0003 {words[0]}"
    page = pdfs.compose(pdfs.ARABIC, pdfs.ARABIC["page"], page=2, pages=13)
    assert page == f"13 {pdfs.visual('من')} 2 {pdfs.visual('صفحة')}"
    # Brackets are mirrored in right-to-left text, so they still enclose the word.
    band = pdfs.compose(pdfs.ARABIC, "المحطة ({gender})", gender="ذكور")
    assert band == f"({pdfs.visual('ذكور')}) {pdfs.visual('المحطة')}"


def test_missing_arabic_font_fails_naming_the_debian_package(settings):
    settings.ROLL_ARABIC_FONT = "/nonexistent/Amiri-Regular.ttf"
    station = _one_station([("بهية", "مقداد")], center=_arabic_center())

    with pytest.raises(pdfs.FontMissing, match="fonts-hosny-amiri"):
        _book(station)


def test_arabic_run_without_the_font_fails_at_start_with_the_reason(settings):
    settings.ROLL_ARABIC_FONT = "/nonexistent/Amiri-Regular.ttf"
    make_voters(make_center(locale="ar"), [("بهية", "مقداد")])
    run = rolls.create_run(strategy="per_station")

    assert rolls.assign(run.id) is None

    run.refresh_from_db()
    assert run.state == "failed"
    assert "apt-get install fonts-hosny-amiri" in run.error
    assert not Station.objects.filter(run=run).exists()


@pytest.mark.parametrize("arabic", [False, True], ids=["latin", "arabic"])
def test_same_station_renders_to_the_same_bytes(arabic):
    center = _arabic_center() if arabic else make_center()
    names = ARABIC_NAMES if arabic else [("Amal", "Haddad"), ("Badr", "Nasser")]
    station = _one_station(names, center=center, father="عمر" if arabic else "Omar")

    first, _ = _book(station)
    # Another document drawn in between must not change the next one.
    pdfs.render_door_sign(station)
    second, _ = _book(station)

    assert first == second


def test_door_sign_and_center_list_name_the_station_range():
    station = _one_station([("Amal", "Haddad"), ("Badr", "Nasser")])

    door, door_pages = pdfs.render_door_sign(station)
    listing, list_pages = pdfs.render_center_list(station.center, [station])

    (door_text,) = _texts(door)
    assert door_pages == 1
    assert "Haddad Amal" in door_text and "Nasser Badr" in door_text
    assert "2 voters" in door_text
    (list_text,) = _texts(listing)
    assert list_pages == pdfs.center_list_pages(1) == 1
    assert "Haddad Amal" in list_text and "Nasser Badr" in list_text
    assert "C0001 Central School - 1 stations" in list_text


def test_arabic_door_sign_and_center_list_are_arabic():
    station = _one_station(ARABIC_NAMES, center=_arabic_center(), father="عمر", grandfather="علي")

    door, _ = pdfs.render_door_sign(station)
    listing, _ = pdfs.render_center_list(station.center, [station])

    for data, words in [
        (door, ["المحطة", "مختلط", "إلى", "عدد الناخبين"]),
        (listing, ["المحطة", "الجنس", "من", "إلى", "مختلط", "صفحة"]),
    ]:
        text = _reading(_texts(data)[0])
        assert [word for word in words if word not in text] == []
        assert set(re.findall("[A-Za-z]+", text)) == {"C"}
    heads = {s.text: s.x for s in _shown(listing, 0) if s.text in {"المحطة", "من", "إلى"}}
    assert sorted(heads, key=heads.get, reverse=True) == ["المحطة", "من", "إلى"]
