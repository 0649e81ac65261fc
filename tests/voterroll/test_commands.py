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
