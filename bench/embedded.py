"""The embedded default against PostgreSQL + RabbitMQ: a voter roll and uploads, same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python bench/embedded.py --voters 10000 --uploads 60 --rounds 3

Each round measures the two stacks in turn, each in a process of its own (settings are
read once per process):

- production: PostgreSQL at DATABASE_URL (its voters and runs are REPLACED), RabbitMQ
  on a vhost of the run's own, Redis at REDIS_URL;
- embedded: what `make run` uses with nothing set, SQLite and the embedded Redis, under
  a temporary DATA_DIR.

In each, one ``bin/worker`` of ``--workers`` prefork processes consumes every queue, as
`make run`'s does. After a warm-up, the ``per_station`` roll of the seeded voters is
timed from "run started" to "zip ready" (bench/rollgen.py's measurement), then
``--uploads`` 12-megapixel photos from the first POST through the view to the last post
ready (bench/thumbnails.py's). Prints each figure for both stacks and embedded /
production, taken per round (target: within 2x), and writes bench/results/embedded.json.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import harness, results, rollgen, thumbnails  # noqa: E402 - after sys.path is set
from bench.rabbitmq_vhost import own_vhost  # noqa: E402 - after sys.path is set

STACKS = ("production", "embedded")
SERVICES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
# (label, key in a measurement): the figures compared, in seconds.
FIGURES = (
    ("roll, run started -> zip ready", "roll_seconds"),
    ("uploads, first POST -> all ready", "uploads_seconds"),
)


def measure(stack: str, options: argparse.Namespace) -> dict:
    """Time one roll and the uploads on ``stack``, in this process."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{stack}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    cleanup = contextlib.ExitStack()
    atexit.register(cleanup.close)
    if stack == "embedded":
        for name in SERVICES:
            os.environ.pop(name, None)
        os.environ["DATA_DIR"] = str(folder)
        from operations.embedded import EmbeddedRedis

        server = EmbeddedRedis(folder / "redis" / "redis.sock")
        server.start()
        cleanup.callback(server.stop)
    else:
        cleanup.enter_context(own_vhost(os.environ["CELERY_BROKER_URL"]))
    media = folder / "media"
    os.environ.update(
        MEDIA_ROOT=str(media),
        ROLLS_ROOT=str(media),
        POST_UPLOADS_ROOT=str(folder / "uploads"),
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        DJANGO_SETTINGS_MODULE="project.settings",
    )
    import django

    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command(
        "seed_voters",
        voters=options.voters,
        centers=max(1, options.voters // 1000),
        seed=42,
        replace=True,
        stdout=io.StringIO(),
    )
    user, _ = get_user_model().objects.get_or_create(username="bench")
    client = Client()
    client.force_login(user)
    photos = [thumbnails.make_photo(seed) for seed in range(thumbnails.DISTINCT_PHOTOS)]
    peaks = {"main": 0, "child": 0}
    queues = "default,images,notifications,pdf"
    with thumbnails.images_worker(options.workers, queues=queues) as worker_pid:
        # Warm-up: fonts, imports and connections of the pool's processes.
        rollgen._run_strategy("per_station", worker_pid, {}, media, options.timeout, peaks, False)
        thumbnails.end_to_end(client, user, photos, thumbnails.DISTINCT_PHOTOS, worker_pid)
        roll, _ = rollgen._run_strategy(
            "per_station", worker_pid, {}, media, options.timeout, peaks, False
        )
        uploads = thumbnails.end_to_end(client, user, photos, options.uploads, worker_pid)
    if uploads["states"]["ready"] != options.uploads:
        sys.exit(f"{stack}: not every upload became ready: {uploads['states']}")
    return {
        "stack": stack,
        "roll_seconds": roll["wall_seconds"],
        "roll_stations": roll["stations"],
        "roll_phase_seconds": roll["phase_seconds"],
        "uploads_seconds": round(uploads["seconds"], 3),
        "uploads_per_second": round(uploads["uploads_per_second"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--measure", choices=STACKS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.measure:
        options.out.write_text(json.dumps(measure(options.measure, options)))
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database (its voters are replaced).")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("amqp"):
        sys.exit("Set CELERY_BROKER_URL to RabbitMQ (amqp://…); the run makes its own vhost.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL (the production stack's cache and locks).")

    rounds: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as folder:
        for number in range(1, options.rounds + 1):
            measured = {}
            for stack in STACKS:
                out = Path(folder) / f"{stack}-{number}.json"
                started = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable, __file__, "--measure", stack, "--out", str(out),
                        "--voters", str(options.voters), "--uploads", str(options.uploads),
                        "--workers", str(options.workers), "--timeout", str(options.timeout),
                    ],
                    cwd=ROOT,
                    check=True,
                )  # fmt: skip
                measured[stack] = json.loads(out.read_text())
                print(f"round {number}, {stack}: {time.perf_counter() - started:.0f} s in all")
            rounds.append(measured)

    # Ratios per round: other load on a shared machine moves both sides of one round alike.
    ratios = {
        key: [r["embedded"][key] / r["production"][key] for r in rounds] for _, key in FIGURES
    }
    median_of = f", median of {options.rounds} rounds (range)" if options.rounds > 1 else ""
    print(
        f"\n{options.voters} voters ({rounds[0]['production']['roll_stations']} stations, "
        f"per_station) and {options.uploads} uploads of 12 MP photos, one worker of "
        f"{options.workers} processes on every queue{median_of}\n"
    )
    header = ("seconds", "PostgreSQL + RabbitMQ", "embedded", "embedded / production")
    table = [
        (
            label,
            harness.spread([r["production"][key] for r in rounds]),
            harness.spread([r["embedded"][key] for r in rounds]),
            f"{harness.spread(ratios[key])}x",
        )
        for label, key in FIGURES
    ]
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header))]
    for row in (header, *table):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                        enumerate(zip(row, widths, strict=True))))  # fmt: skip
    print("target: the embedded default within 2x of PostgreSQL + RabbitMQ")

    results.write(
        "embedded",
        {
            "voters": options.voters,
            "uploads": options.uploads,
            "workers": options.workers,
            "rounds": rounds,
            "ratios": ratios,
            "median_ratios": {key: statistics.median(values) for key, values in ratios.items()},
        },
    )


if __name__ == "__main__":
    main()
