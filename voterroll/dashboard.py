"""Roll runs on the Tasks dashboard."""

from __future__ import annotations

from voterroll.models import RollRun


def running_generations() -> list[dict]:
    """Progress rows of the runs still in flight, for the Tasks dashboard."""
    from django.urls import reverse

    return [
        {
            # The strategy's label has brackets of its own: "per station (group | chord)".
            "label": f"Roll run {run.pk}, {run.get_strategy_display()}",
            "done": run.stations_done,
            "total": run.stations_count,
            "state": run.state,
            "url": reverse("voterroll:run", args=[run.pk]),
        }
        for run in RollRun.objects.active().order_by("created_at")
    ]
