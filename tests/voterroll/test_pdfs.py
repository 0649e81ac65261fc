"""Station books, door signs and center lists, read back with pypdf."""

import hashlib
import io
import unicodedata

import pytest
from pypdf import PdfReader

from tests.factories import make_center, make_voters
from voterroll import pdfs, rolls
from voterroll.models import RollRun, Station
from voterroll.stations import assign_stations

pytestmark = pytest.mark.django_db


def _texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _one_station(names, *, center=None, **names_of_parents) -> Station:
    center = center or make_center()
    make_voters(center, names, **names_of_parents)
    run = RollRun.objects.create()
    # A station max above the count keeps every voter in one unisex station.
    assign_stations(run, station_max=1000, unisex_threshold=1000)
    return Station.objects.select_related("center", "run").get(run=run)


def test_book_has_a_cover_and_numbered_pages_that_skip_it(settings):
    settings.ROLL_ROWS_PER_PAGE = 25
    station = _one_station([(f"First{n:02d}", f"Family{n:02d}") for n in range(60)])

    data, pages = pdfs.render_station_book(station)

    texts = _texts(data)
    assert pages == len(texts) == 1 + 3
    cover = texts[0]
    assert "Station book" in cover
    assert "C0001 Central School" in cover
    assert "Station:\n1\n" in cover
    assert "Voters:\n60\n" in cover
    assert station.run.created_at.date().isoformat() in cover
    assert " / " not in cover
    for number, text in enumerate(texts[1:], start=1):
        assert f"{number} / 3" in text
        assert "Voter no." in text
    # 25 rows a page, in name order: the last page holds the last 10 voters.
    assert "First59" in texts[3]
    assert "First24" in texts[1]
    assert "First25" in texts[2]


def test_user_text_prints_literally():
    station = _one_station([("<font color=red>", "<b>Smith&amp;</b>")])

    data, _ = pdfs.render_station_book(station)

    assert "<font color=red> Omar Ali <b>Smith&amp;</b>" in _texts(data)[1]


def test_arabic_names_are_shaped_and_extract_in_reading_order():
    center = make_center(name="مدرسة النور", locale="ar")
    station = _one_station(
        [("بهية", "مقداد"), ("تمام", "سراج")], center=center, father="عمر", grandfather="علي"
    )

    data, _ = pdfs.render_station_book(station)

    raw = _texts(data)[1]
    # Shaped: drawn with contextual presentation forms, not the bare letters.
    assert "بهية" not in raw
    text = unicodedata.normalize("NFKC", raw)
    assert "بهية عمر علي مقداد" in text
    assert "تمام عمر علي سراج" in text


def test_missing_arabic_font_fails_naming_the_debian_package(settings):
    settings.ROLL_ARABIC_FONT = "/nonexistent/Amiri-Regular.ttf"
    center = make_center(name="مدرسة النور", locale="ar")
    station = _one_station([("بهية", "مقداد")], center=center)

    with pytest.raises(pdfs.FontMissing, match="fonts-hosny-amiri"):
        pdfs.render_station_book(station)


def test_arabic_run_without_the_font_fails_at_start_with_the_reason(settings):
    settings.ROLL_ARABIC_FONT = "/nonexistent/Amiri-Regular.ttf"
    make_voters(make_center(locale="ar"), [("بهية", "مقداد")])
    run = rolls.create_run(strategy="per_station")

    assert rolls.assign(run.id) is None

    run.refresh_from_db()
    assert run.state == "failed"
    assert "apt-get install fonts-hosny-amiri" in run.error
    assert not Station.objects.filter(run=run).exists()


def test_same_station_renders_to_the_same_bytes():
    station = _one_station([("Amal", "Haddad"), ("Badr", "Nasser")])

    first, _ = pdfs.render_station_book(station)
    second, _ = pdfs.render_station_book(station)

    assert first == second


def test_door_sign_and_center_list_name_the_station_range():
    station = _one_station([("Amal", "Haddad"), ("Badr", "Nasser")])

    door, door_pages = pdfs.render_door_sign(station)
    listing, list_pages = pdfs.render_center_list(station.center, [station])

    (door_text,) = _texts(door)
    assert door_pages == 1
    assert "Haddad Amal" in door_text and "Nasser Badr" in door_text
    (list_text,) = _texts(listing)
    assert list_pages == 1
    assert "Haddad Amal" in list_text and "Nasser Badr" in list_text


def test_atomic_write_leaves_only_the_final_file(tmp_path):
    written = pdfs.write_atomically(tmp_path / "a" / "book.pdf", b"%PDF-1.4 x", pages=1)

    assert [p.name for p in (tmp_path / "a").iterdir()] == ["book.pdf"]
    assert written.bytes == 10
    assert len(written.sha256) == 64


def test_atomic_write_takes_chunks_and_measures_what_it_wrote(tmp_path):
    chunks = (part.encode() for part in ["%PDF-1.4 ", "é", " end"])

    written = pdfs.write_atomically(tmp_path / "book.pdf", chunks, pages=1)

    data = (tmp_path / "book.pdf").read_bytes()
    assert data == "%PDF-1.4 é end".encode()
    assert written.bytes == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["book.pdf"]
