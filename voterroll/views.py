"""Staff pages: start a roll run, watch it, download its files.

Each page needs a permission (the "Roll officers" group has them all): view_rollrun to
see runs, generate_roll to start or cancel one, download_roll to fetch its files.
Anonymous visitors are sent to sign in; signed-in users without it get 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from filestore.serving import private_file_response
from voterroll import rolls, run_files, services
from voterroll.models import RollRun, Station, Voter


class StartRunForm(forms.Form):
    strategy = forms.ChoiceField(choices=RollRun.Strategy.choices, initial=RollRun.Strategy.BATCHED)


def _progress(run: RollRun) -> dict:
    return {
        "id": run.id,
        "state": run.state,
        "percent": run.progress_percent,
        "stations_done": run.stations_done,
        "stations_total": run.stations_count,
        "pages": run.pages_count,
        "voters": run.voters_count,
        "centers": run.centers_count,
        "stations": run.stations_count,
        "error": run.error,
        "zip_url": reverse("voterroll:file", args=[run.id, run.zip_file.rsplit("/", 1)[-1]])
        if run.zip_file
        else None,
    }


@login_required
@permission_required("voterroll.view_rollrun", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    """List roll runs and start a new one."""
    form = StartRunForm(request.POST or None)
    if request.method == "POST" and not request.user.has_perm("voterroll.generate_roll"):
        raise PermissionDenied("Starting a roll generation needs the generate_roll permission.")
    if request.method == "POST" and form.is_valid():
        if not Voter.objects.exists():
            messages.error(request, "There are no voters yet: run manage.py seed_voters first.")
            return redirect("voterroll:index")
        run = services.queue_run(strategy=form.cleaned_data["strategy"])
        messages.success(request, f"Roll run {run.id} started.")
        return redirect("voterroll:index")
    runs = list(RollRun.objects.all()[:50])
    return render(
        request,
        "voterroll/index.html",
        {
            "form": form,
            "runs": [(run, _progress(run)) for run in runs],
            "forecast": rolls.forecast(),
        },
    )


@login_required
@permission_required("voterroll.view_rollrun", raise_exception=True)
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
                {
                    "center": listed[0].center,
                    "stations": listed,
                    "voters": sum(station.voter_count for station in listed),
                    "list_name": f"{listed[0].center.code}/stations.pdf",
                }
                for listed in centers.values()
            ],
            "phases": run.phase_seconds(),
        },
    )


@login_required
@permission_required("voterroll.view_rollrun", raise_exception=True)
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Return a run's state and progress for the live progress bar."""
    return JsonResponse(_progress(get_object_or_404(RollRun, pk=pk)))


@login_required
@permission_required("voterroll.generate_roll", raise_exception=True)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a running generation."""
    run = get_object_or_404(RollRun, pk=pk)
    if services.cancel_run(run.id):
        messages.success(request, f"Roll run {run.id} cancelled; its files were removed.")
    else:
        messages.error(request, f"Roll run {run.id} is {run.state}: there is nothing to cancel.")
    return redirect("voterroll:run", pk=run.id)


# The longest name a file of a run has is far shorter; a longer one is no file's.
NAME_LIMIT = 200


def _file_of_run(run: RollRun, name: str) -> str:
    """Return the storage name of a run's file ``name``; Http404 if no file can have it."""
    parts = name.split("/")
    if (
        len(name) > NAME_LIMIT
        or "\x00" in name
        or any(not part or part.startswith(".") for part in parts)
    ):
        # Empty parts, "." and "..", hidden files, NUL bytes: never a file of a run.
        raise Http404("No such file in this run.")
    return f"{run_files.run_folder(run.id)}/{name}"


@login_required
@permission_required("voterroll.download_roll", raise_exception=True)
def download(request: HttpRequest, pk: int, name: str) -> HttpResponseBase:
    """Hand out one file of a run (personal data: from the private rolls storage only)."""
    run = get_object_or_404(RollRun, pk=pk)
    return private_file_response(
        run_files.storage(), _file_of_run(run, name), as_attachment=name.endswith(".zip")
    )
