"""generate_roll --wait on a real worker."""

import io

import pytest
from django.core.management import call_command

from voterroll.models import RollRun


@pytest.mark.usefixtures("worker")
def test_generate_roll_waits_with_a_progress_bar_and_prints_a_summary(seeded):
    out = io.StringIO()

    call_command("generate_roll", strategy="per_station", wait=True, stdout=out)

    run = RollRun.objects.get()
    text = out.getvalue()
    assert run.state == "done"
    assert "100%" in text
    assert f"stations         {run.stations_count}" in text
    assert "voters           1200" in text
    assert "rendering (s)" in text


@pytest.mark.django_db
def test_seed_voters_in_arabic_warns_when_the_arabic_font_is_missing(settings, tmp_path):
    settings.ROLL_ARABIC_FONT = str(tmp_path / "no-such-font.ttf")
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "seed_voters", "--voters", "50", "--centers", "2", "--locale", "ar", stdout=out, stderr=err
    )

    assert "Seeded 50 voters" in out.getvalue()
    warning = err.getvalue()
    assert "Roll runs will fail" in warning and "apt-get install fonts-hosny-amiri" in warning
    assert str(tmp_path / "no-such-font.ttf") in warning


@pytest.mark.django_db
def test_seed_voters_says_nothing_of_fonts_when_they_are_there():
    err = io.StringIO()

    call_command(
        "seed_voters",
        "--voters",
        "50",
        "--centers",
        "2",
        "--locale",
        "ar",
        stdout=io.StringIO(),
        stderr=err,
    )
    call_command(
        "seed_voters",
        "--voters",
        "50",
        "--centers",
        "2",
        "--replace",
        stdout=io.StringIO(),
        stderr=err,
    )

    assert err.getvalue() == ""
