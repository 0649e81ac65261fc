"""manage.py seed_voters: fake centers and voters for demos, tests and benchmarks."""

import time

from django.core.management.base import BaseCommand, CommandError

from voterroll import pdfs
from voterroll.seeding import LOCALES, SeedError, seed_voters


class Command(BaseCommand):
    help = "Create fake polling centers and voters, deterministic for a seed."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--voters", type=int, default=10_000, help="voters to create (default: 10000)"
        )
        parser.add_argument(
            "--centers",
            type=int,
            default=10,
            help="polling centers to spread them over, of uneven sizes (default: 10)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=42,
            help="random seed: the same seed gives the same names and centers (default: 42)",
        )
        parser.add_argument(
            "--locale",
            choices=sorted(LOCALES),
            default="en",
            help="en: Latin names; ar: Arabic names and centers, whose books need the "
            f"Arabic font ({pdfs.ARABIC_PACKAGE}) (default: en)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete every existing voter, center and roll run (and the runs' files) first",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        try:
            count = seed_voters(
                voters=options["voters"],
                centers=options["centers"],
                seed=options["seed"],
                locale=options["locale"],
                replace=options["replace"],
            )
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Seeded {count} voters in {options['centers']} centers "
            f"({options['locale']}, seed {options['seed']}) in {time.monotonic() - started:.1f} s."
        )
        if options["locale"] == "ar":
            try:
                pdfs.ensure_fonts(arabic=True)
            except pdfs.FontMissing as exc:
                # The voters are kept: installing the font is all a roll run then needs.
                self.stderr.write(self.style.WARNING(f"Roll runs will fail until fixed: {exc}"))
