"""Compare the roll strategies on the same seeded voters, against the ideal in the same run.

Usage (needs PostgreSQL and RabbitMQ; the database's voters and runs are REPLACED):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// \\
    .venv/bin/python bench/rollgen.py --voters 10000 --workers 2

It seeds the voters, starts one ``bin/worker`` with ``--workers`` prefork processes on a
fresh RabbitMQ vhost of its own, runs every strategy from "run started" to "zip ready",
then renders the same station books in this one process: that time divided by the
worker count is the ideal no strategy can beat. Prints a table and writes
``bench/results/rollgen-<voters>.json``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results  # noqa: E402 - after sys.path is set
from bench.rabbitmq_vhost import own_vhost  # noqa: E402 - after sys.path is set

STRATEGIES = ["single", "per_center", "starmap", "per_station"]


def _peak_rss_kib(pid: int) -> tuple[int, int]:
    """Return the VmHWM of a process and the largest among its live children."""
    peaks = [0, 0]
    for one in _worker_pids(pid):
        # A child recycled (max-tasks-per-child) between the listing and the read.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    which = 0 if one == pid else 1
                    peaks[which] = max(peaks[which], int(line.split()[1]))
    return peaks[0], peaks[1]


def _worker_pids(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(child) for child in (task / "children").read_text().split()]
    return pids


def _process_cpu(pid: int) -> float:
    """Return the CPU time (user + system) of one process and of its reaped children."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        # Fields 14-17: utime, stime, and those of reaped (recycled) children.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _cpu_seconds(pid: int) -> dict[str, float]:
    """Return CPU seconds used so far by the worker's main process, its pool, and the
    PostgreSQL and RabbitMQ processes of this machine: where a run's CPU went."""
    pids = _worker_pids(pid)
    services = {"postgres": 0.0, "rabbitmq": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            command = (entry / "comm").read_text().strip()
            if command in ("postgres", "postmaster"):
                services["postgres"] += _process_cpu(int(entry.name))
            elif command in ("beam.smp", "erl_child_setup"):
                services["rabbitmq"] += _process_cpu(int(entry.name))
    return {
        "main": _process_cpu(pid),
        "pool": sum(_process_cpu(child) for child in pids[1:]),
        **services,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--centers", type=int, default=None, help="default: voters / 1000")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--no-ideal",
        action="store_true",
        help="skip drawing every book in this process (minutes at a million voters)",
    )
    options = parser.parse_args()
    centers = options.centers or max(1, options.voters // 1000)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database (its voters are replaced).")
    # Removed however the script ends, so no bench vhost or media folder is left behind.
    vhost = contextlib.ExitStack()
    atexit.register(vhost.close)
    broker = vhost.enter_context(
        own_vhost(os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    )
    media = Path(tempfile.mkdtemp(prefix="rollgen-media-"))
    atexit.register(shutil.rmtree, media, ignore_errors=True)
    os.environ.update(
        CELERY_BROKER_URL=broker,
        MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="project.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django_celery_results.models import TaskResult

    from voterroll import pdfs, tasks
    from voterroll.models import RollRun, Station

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command(
        "seed_voters",
        voters=options.voters,
        centers=centers,
        seed=options.seed,
        replace=True,
        stdout=io.StringIO(),
    )
    seed_seconds = time.perf_counter() - started

    log = tempfile.NamedTemporaryFile("w+", prefix="rollgen-worker-", suffix=".log")  # noqa: SIM115
    name = f"bench-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen(
        [str(ROOT / "bin" / "worker")],
        cwd=ROOT,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "WORKER_NAME": name,
            "WORKER_CONCURRENCY": str(options.workers),
            "WORKER_QUEUES": "pdf,default",
            # As in production: with DEBUG on, Django also keeps the last 9,000 queries
            # of each connection in memory, which would show up as worker growth.
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # Children are never recycled here, so the peak RSS shows any growth per task
            # instead of hiding it behind max-tasks-per-child (1,000 in production).
            "CELERY_WORKER_MAX_TASKS_PER_CHILD": "1000000",
            # INFO: the "ready." line this script waits for is logged at INFO.
            "LOG_LEVEL": "INFO",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rows: list[dict] = []
    outputs: dict[str, dict[str, str]] = {}
    main_peak_kib = child_peak_kib = 0
    started = time.perf_counter()
    try:
        while (
            f"{name}@" not in Path(log.name).read_text()
            or " ready." not in Path(log.name).read_text()
        ):
            if worker.poll() is not None or time.perf_counter() - started > 60:
                sys.exit(f"worker did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.2)
        for strategy in options.strategies.split(","):
            before = TaskResult.objects.count()
            cpu_before = _cpu_seconds(worker.pid)
            started = time.perf_counter()
            run = tasks.enqueue_run(strategy=strategy)
            polls = 0
            # The largest child's high-water mark when a quarter, half, ... of the
            # stations were drawn: flat if a task leaves nothing behind.
            child_by_quarter: dict[int, int] = {}
            while run.is_active and time.perf_counter() - started < options.timeout:
                time.sleep(0.02)
                run.refresh_from_db()
                polls += 1
                # Sampled while running: a child recycled after max-tasks-per-child takes
                # its high-water mark with it.
                if polls % 10 == 0:
                    main_kib, child_kib = _peak_rss_kib(worker.pid)
                    main_peak_kib = max(main_peak_kib, main_kib)
                    child_peak_kib = max(child_peak_kib, child_kib)
                    if run.stations_count:
                        quarter = 4 * run.stations_done // run.stations_count
                        child_by_quarter.setdefault(quarter, child_kib // 1024)
            wall = time.perf_counter() - started
            if run.state != RollRun.State.DONE:
                sys.exit(f"{strategy}: run {run.id} ended {run.state}: {run.error}")
            # Results are stored as each task ends; let the last writes land.
            time.sleep(0.5)
            cpu_after = _cpu_seconds(worker.pid)
            cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_after}
            phases = run.phase_seconds()
            metadata = json.loads((media / run.metadata_file).read_text())
            outputs[strategy] = {entry["path"]: entry["sha256"] for entry in metadata["files"]}
            rows.append(
                {
                    "strategy": strategy,
                    "wall_seconds": round(wall, 3),
                    "tasks_sent": TaskResult.objects.count() - before,
                    "stations": run.stations_count,
                    "pages": run.pages_count,
                    "voters": run.voters_count,
                    "voters_per_second": round(run.voters_count / wall),
                    "assign_seconds": round(phases["assigning"] or 0, 3),
                    "phase_seconds": {k: round(v or 0, 3) for k, v in phases.items()},
                    "child_peak_rss_mib_by_quarter": child_by_quarter,
                    "worker_cpu_seconds": round(cpu["main"] + cpu["pool"], 2),
                    "cpu_seconds": cpu,
                }
            )
        main_kib, child_kib = _peak_rss_kib(worker.pid)
        main_peak_kib, child_peak_kib = max(main_peak_kib, main_kib), max(child_peak_kib, child_kib)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()

    # Same work, same output: every strategy must have written byte-identical files.
    first = next(iter(outputs.values()))
    differing = [name for name, files in outputs.items() if files != first]
    if differing:
        sys.exit(f"strategies {', '.join(differing)} wrote other files than {next(iter(outputs))}")

    # The ideal: the same station books drawn back to back in one warm process.
    last = RollRun.objects.filter(state=RollRun.State.DONE).order_by("-id").first()
    books = list(Station.objects.filter(run=last).select_related("center", "run"))
    ideal = one_process = one_process_cpu = None
    biggest = max(books, key=lambda s: s.voter_count)
    if not options.no_ideal:
        pdfs.render_station_book(books[0])
        started, cpu_started = time.perf_counter(), time.process_time()
        for station in books:
            pdfs.render_station_book(station)
        one_process = time.perf_counter() - started
        one_process_cpu = time.process_time() - cpu_started
        ideal = one_process / options.workers
    started = time.perf_counter()
    pdfs.render_station_book(biggest)
    biggest_seconds = time.perf_counter() - started

    single = next((r["wall_seconds"] for r in rows if r["strategy"] == "single"), None)
    header = f"{'strategy':<12} {'wall s':>8} {'x ideal':>8} {'x faster than single':>21} "
    header += f"{'tasks':>7} {'pages':>7} {'voters/s':>9} {'assign s':>9} {'worker CPU s':>13}"
    print(
        f"\n{options.voters} voters, {centers} centers, {len(books)} stations, "
        f"{options.workers} worker processes (seeding {seed_seconds:.1f} s)"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        row["times_ideal"] = round(row["wall_seconds"] / ideal, 2) if ideal else None
        row["speedup_vs_single"] = round(single / row["wall_seconds"], 2) if single else None
        times_ideal = f"{row['times_ideal']:>8.2f}" if ideal else f"{'-':>8}"
        print(
            f"{row['strategy']:<12} {row['wall_seconds']:>8.2f} {times_ideal} "
            f"{row['speedup_vs_single'] or 0:>21.2f} {row['tasks_sent']:>7} {row['pages']:>7} "
            f"{row['voters_per_second']:>9} {row['assign_seconds']:>9.2f} "
            f"{row['worker_cpu_seconds']:>13.2f}"
        )
    if ideal:
        print(
            f"{'ideal':<12} {ideal:>8.2f} {'1.00':>8} {'':>21} {'':>7} {'':>7} "
            f"{round(options.voters / ideal):>9}"
        )
        print(
            f"one process rendering every book: {one_process:.2f} s ({one_process_cpu:.2f} s CPU)"
        )
    for row in rows:
        phases = ", ".join(f"{name} {sec:.2f}" for name, sec in row["phase_seconds"].items())
        print(f"{row['strategy']} phases (s): {phases}")
        where = ", ".join(f"{name} {sec:.2f}" for name, sec in row["cpu_seconds"].items())
        print(f"{row['strategy']} CPU (s): worker {where}")
        quarters = ", ".join(
            f"{25 * q}% {mib} MiB"
            for q, mib in sorted(row["child_peak_rss_mib_by_quarter"].items())
        )
        print(f"{row['strategy']} largest pool child's peak RSS by stations drawn: {quarters}")
    if len(outputs) > 1:
        print(f"every strategy wrote the same {len(first)} files, byte for byte (sha256 compared)")
    print(
        f"biggest station ({biggest.voter_count} voters) {biggest_seconds * 1000:.0f} ms; "
        f"worker peak RSS: main process {main_peak_kib / 1024:.0f} MiB, largest pool child "
        f"{child_peak_kib / 1024:.0f} MiB"
    )

    results.write(
        f"rollgen-{options.voters}",
        {
            "voters": options.voters,
            "centers": centers,
            "workers": options.workers,
            "seed_seconds": round(seed_seconds, 3),
            "ideal_seconds": ideal and round(ideal, 3),
            "one_process_render_seconds": one_process and round(one_process, 3),
            "one_process_render_cpu_seconds": one_process_cpu and round(one_process_cpu, 3),
            "biggest_station_voters": biggest.voter_count,
            "biggest_station_seconds": round(biggest_seconds, 4),
            "worker_peak_rss_kib": max(main_peak_kib, child_peak_kib),
            "worker_main_peak_rss_kib": main_peak_kib,
            "worker_child_peak_rss_kib": child_peak_kib,
            "strategies": rows,
        },
    )


if __name__ == "__main__":
    main()
