"""Staff pages: start a roll run, watch it, download its files."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from voterroll import rolls, tasks
from voterroll.models import RollRun, Station, Voter


class StartRunForm(forms.Form):
    strategy = forms.ChoiceField(choices=RollRun.Strategy.choices, initial=RollRun.Strategy.BATCHED)


def _progress(run: RollRun) -> dict:
    return {
        "id": run.id,
        "state": run.state,
        "percent": run.progress_percent,
        "stations_done": run.stations_done,
        "stations_total": run.stations_total,
        "pages": run.pages_count,
        "error": run.error,
        "zip_url": reverse("voterroll:file", args=[run.id, run.zip_file.rsplit("/", 1)[-1]])
        if run.zip_file
        else None,
    }


@staff_member_required
def index(request: HttpRequest) -> HttpResponse:
    """List roll runs and start a new one."""
    form = StartRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not Voter.objects.exists():
            messages.error(request, "There are no voters yet: run manage.py seed_voters first.")
            return redirect("voterroll:index")
        run = tasks.enqueue_run(strategy=form.cleaned_data["strategy"])
        messages.success(request, f"Roll run {run.id} started.")
        return redirect("voterroll:index")
    runs = list(RollRun.objects.all()[:50])
    return render(
        request,
        "voterroll/index.html",
        {"form": form, "runs": [(run, _progress(run)) for run in runs]},
    )


@staff_member_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one run with its centers and stations, linking every file."""
    run = get_object_or_404(RollRun, pk=pk)
    centers: dict[str, list[Station]] = {}
    for station in Station.objects.filter(run=run).select_related("center"):
        centers.setdefault(station.center.code, []).append(station)
    return render(
        request,
        "voterroll/run.html",
        {
            "run": run,
            "progress": _progress(run),
            "centers": [
                (stations[0].center, stations, f"{stations[0].center.code}/stations.pdf")
                for stations in centers.values()
            ],
            "phases": run.phase_seconds(),
        },
    )


@staff_member_required
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Return a run's state and progress for the live progress bar."""
    return JsonResponse(_progress(get_object_or_404(RollRun, pk=pk)))


@staff_member_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a running generation."""
    run = get_object_or_404(RollRun, pk=pk)
    if tasks.cancel_run(run.id):
        messages.success(request, f"Roll run {run.id} cancelled; its files were removed.")
    else:
        messages.error(request, f"Roll run {run.id} is {run.state}: there is nothing to cancel.")
    return redirect("voterroll:run", pk=run.id)


@staff_member_required
def download(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """Send one file of a run to staff (rolls are personal data: never under /media/)."""
    run = get_object_or_404(RollRun, pk=pk)
    folder = rolls.run_dir(run.id).resolve()
    path = (folder / name).resolve()
    if not path.is_relative_to(folder) or not path.is_file() or path.name.startswith("."):
        raise Http404("No such file in this run.")
    return FileResponse(path.open("rb"), as_attachment=path.suffix == ".zip", filename=path.name)
