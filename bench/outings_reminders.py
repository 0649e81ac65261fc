"""Benchmark one reminder beat run: our bulk fan-out against a get_or_create per participant.

Usage (PostgreSQL; the script makes and drops its own ``bench_outings`` database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot \\
        .venv/bin/python bench/outings_reminders.py --participants 200 1000 --repeat 3

Prints a table and writes bench/results/outings_reminders.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results as bench_results  # noqa: E402 - after sys.path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

# DEBUG is off by default; the benchmarks run the development shape, with its key.
os.environ.setdefault("DEBUG", "1")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from outings import reminders, tweet_text  # noqa: E402
from outings.models import Outing, Participant, Tweet  # noqa: E402

WINDOW = timedelta(hours=24)


def naive_record_due(now) -> int:
    """The obvious version: load every participant, test each in Python, get_or_create each."""
    written = 0
    with transaction.atomic():
        for participant in Participant.objects.select_related("outing"):
            outing = participant.outing
            if not participant.wants_reminder or participant.reminded_at is not None:
                continue
            if not now < outing.starts_at <= now + WINDOW:
                continue
            _, created = Tweet.objects.get_or_create(
                idempotency_key=f"reminder:{participant.pk}",
                defaults={
                    "kind": Tweet.Kind.REMINDER,
                    "text": tweet_text.shorten(reminders.reminder_text(participant)),
                    "outing": outing,
                    "participant": participant,
                },
            )
            written += created
    return written


def ours(now) -> int:
    return len(reminders.record_due(now=now, window=WINDOW))


def seed(count: int) -> None:
    Tweet.objects.all().delete()
    Participant.objects.all().delete()
    Outing.objects.all().delete()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    # bulk_create sends no post_save, so seeding publishes no announcements.
    soon, later = Outing.objects.bulk_create(
        [
            Outing(
                title="Soon",
                place="Here",
                starts_at=timezone.now() + timedelta(hours=3),
                created_by=user,
            ),
            Outing(
                title="Later",
                place="There",
                starts_at=timezone.now() + timedelta(days=5),
                created_by=user,
            ),
        ]
    )
    # Realistic mix: most join the soon outing and want a reminder; some opt out or join later.
    Participant.objects.bulk_create(
        Participant(
            outing=later if n % 5 == 0 else soon,
            name=f"Person {n}",
            handle=f"p{n}",
            wants_reminder=n % 7 != 0,
        )
        for n in range(count)
    )


def measure(fn, count: int, repeat: int) -> tuple[float, int]:
    times, written = [], 0
    for _ in range(repeat):
        Tweet.objects.all().delete()
        now = timezone.now()
        start = time.perf_counter()
        written = fn(now)
        times.append(time.perf_counter() - start)
    return statistics.median(times), written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server: the benchmark measures SKIP LOCKED there."
        )

    connection.settings_dict["TEST"]["NAME"] = "bench_outings"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    results = []
    try:
        for count in args.participants:
            seed(count)
            naive_s, naive_n = measure(naive_record_due, count, args.repeat)
            ours_s, ours_n = measure(ours, count, args.repeat)
            assert naive_n == ours_n, (naive_n, ours_n)
            results.append(
                {
                    "participants": count,
                    "reminders": ours_n,
                    "naive_s": round(naive_s, 4),
                    "ours_s": round(ours_s, 4),
                    "speedup": round(naive_s / ours_s, 2),
                }
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"{'participants':>12} {'reminders':>9} {'naive s':>9} {'ours s':>9} {'speedup':>8}")
    for row in results:
        print(
            f"{row['participants']:>12} {row['reminders']:>9} {row['naive_s']:>9.4f} "
            f"{row['ours_s']:>9.4f} {row['speedup']:>7.2f}x"
        )
    bench_results.write(
        "outings_reminders", {"benchmark": "outings.record_due", "results": results}
    )


if __name__ == "__main__":
    main()
