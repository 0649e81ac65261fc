"""manage.py generate_roll: start a roll run and optionally wait for it with a progress bar."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from voterroll import run_files, services
from voterroll.models import RollRun, Voter

# 50 characters: fits an 80-column terminal beside the counts.
BAR_WIDTH = 50


class Command(BaseCommand):
    help = (
        "Start a roll run (workers do the work); --wait shows progress and a summary ending "
        "with where the zip is: its absolute path on local storage (FILE_STORAGE=local), "
        "its s3://bucket/key on object storage, and always the app's download path."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--strategy",
            choices=RollRun.Strategy.values,
            default=RollRun.Strategy.BATCHED,
            help="how the stations are spread over tasks: "
            + "; ".join(f"{value}: {label}" for value, label in RollRun.Strategy.choices)
            + f" (default: {RollRun.Strategy.BATCHED})",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="show a progress bar until the run ends, then a summary, the zip's local path "
            "(local storage) or s3://bucket/key (object storage) and its download path in the app",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=600,
            help="with --wait, give up after this many seconds (default: 600)",
        )

    def handle(self, *args, **options) -> None:
        if not Voter.objects.exists():
            raise CommandError("There are no voters: run manage.py seed_voters first.")
        run = services.queue_run(strategy=options["strategy"])
        self.stdout.write(f"Roll run {run.id} queued ({run.strategy}).")
        if not options["wait"]:
            return
        deadline = time.monotonic() + options["timeout"]
        while run.is_active:
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Run {run.id} is still {run.state} after {options['timeout']:.0f} s: "
                    "is a worker consuming the pdf queue?"
                )
            time.sleep(0.2)
            run.refresh_from_db()
            filled = BAR_WIDTH * run.progress_percent // 100
            self.stdout.write(
                f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {run.progress_percent:3d}% "
                f"{run.stations_done}/{run.stations_count} stations  {run.state:<10}",
                ending="",
            )
        self.stdout.write("")
        if run.state != RollRun.State.DONE:
            raise CommandError(f"Run {run.id} ended {run.state}: {run.error}")
        rows = [
            ("centers", run.centers_count),
            ("stations", run.stations_count),
            ("voters", run.voters_count),
            ("pages", run.pages_count),
            *(
                (f"{phase} (s)", f"{seconds:.2f}")
                for phase, seconds in run.phase_seconds().items()
                if seconds is not None
            ),
            ("zip", run_files.location(run.zip_file)),
            ("download", reverse("voterroll:file", args=[run.id, run.zip_file.rsplit("/")[-1]])),
        ]
        for label, value in rows:
            self.stdout.write(f"{label:<16} {value}")
