"""generate_roll --wait on a real worker."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from voterroll.models import RollRun


@pytest.mark.usefixtures("worker")
def test_generate_roll_waits_with_a_progress_bar_and_prints_a_summary(seeded, rolls_root):
    out = io.StringIO()

    call_command("generate_roll", strategy="per_station", wait=True, stdout=out)

    run = RollRun.objects.get()
    text = out.getvalue()
    assert run.state == "done"
    assert "100%" in text
    assert f"stations         {run.stations_count}" in text
    assert "voters           1200" in text
    assert "rendering (s)" in text
    # Where a person opens the zip: on local storage, its absolute path.
    rows = dict(line.split(None, 1) for line in text.splitlines() if line.startswith(("zip", "do")))
    assert rows == {
        "zip": str(rolls_root / run.zip_file),
        "download": f"/rolls/{run.id}/files/roll-{run.id}.zip",
    }
    assert Path(rows["zip"]).is_absolute() and zipfile.is_zipfile(rows["zip"])


def seed(*args: str) -> tuple[str, str]:
    """Run seed_voters with 50 voters in 2 centers; return what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_voters", "--voters=50", "--centers=2", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_seed_voters_in_arabic_warns_when_the_arabic_font_is_missing(settings, tmp_path):
    settings.ROLL_ARABIC_FONT = str(tmp_path / "no-such-font.ttf")

    out, warning = seed("--locale=ar")

    assert "Seeded 50 voters" in out
    assert "Roll runs will fail" in warning and "apt-get install fonts-hosny-amiri" in warning
    assert str(tmp_path / "no-such-font.ttf") in warning


@pytest.mark.django_db
def test_seed_voters_says_nothing_of_fonts_when_they_are_there():
    assert seed("--locale=ar")[1] == ""
    assert seed("--locale=en", "--replace")[1] == ""
