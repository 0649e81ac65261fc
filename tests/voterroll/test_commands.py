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
