"""Compare the roll strategies on the same seeded voters, against the ideal in the same run.

Usage (needs PostgreSQL and RabbitMQ; the database's voters and runs are REPLACED):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// \\
    .venv/bin/python bench/rollgen.py --voters 10000 --workers 2

It seeds the voters (timed apart), starts one ``bin/worker`` with ``--workers`` prefork
processes on a fresh RabbitMQ vhost of its own, runs every strategy from "run started"
to "zip ready", then draws the same station books in this one process with the new
renderer: that time divided by the worker count is the ideal no strategy can beat.
Each run's CPU is split into the worker's main process, its pool, PostgreSQL (the
server the bench uses) and RabbitMQ; all of it divided by the cores is the run's CPU
floor, an estimate of the soonest any schedule could finish that counts what the ideal
leaves out (station queries, result rows, the chord's votes, door signs, the broker)
and, a few percent, this script's polling. Then it times the old renderer (a Platypus
table per page, kept in bench/old_station_book.py) against the new one on the same
stations, in CPU per page. ``--statements`` adds each run's costliest SQL statements
from pg_stat_statements, on a server that preloads it. ``--storages local,s3``
runs every strategy on both storages (the rolls on a private SeaweedFS started for the
run, a worker of its own), checks both wrote the same files, and prints S3 / local.
Prints tables and writes ``bench/results/rollgen-<voters>[-ar][-s3].json``.
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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results  # noqa: E402 - after sys.path is set
from bench.harness import spread  # noqa: E402 - after sys.path is set
from bench.rabbitmq_vhost import own_vhost  # noqa: E402 - after sys.path is set

STRATEGIES = ["single", "per_center", "starmap", "per_station", "batched"]
# Stations timed with each renderer: enough pages for a stable figure, quick at any size.
RENDERER_SAMPLE = 40


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


def _listener(port: int) -> int | None:
    """The process listening on a local TCP port (the broker's, the database's), if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                # Field 3 is the socket's state: 0A is LISTEN.
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError, ProcessLookupError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(FileNotFoundError, OSError):
                    if os.readlink(fd) in inodes:
                        return int(entry.name)
    return None


def _service_pids(url: str, default_port: int) -> list[int]:
    """The process serving a URL on this machine and its children (a PostgreSQL server's
    backends, RabbitMQ's helpers); empty if it is not local."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return []
    pid = _listener(parts.port or default_port)
    return _worker_pids(pid) if pid else []


def _cpu_seconds(pid: int, services: dict[str, list[int]]) -> dict[str, float]:
    """Return CPU seconds used so far by the worker's main process, its pool, and the
    PostgreSQL server and RabbitMQ broker the bench uses (each the process listening on
    its port, which is charged the CPU of the children it has reaped, with its live
    children): where a run's CPU went."""
    pids = _worker_pids(pid)
    return {
        "main": _process_cpu(pid),
        "pool": sum(_process_cpu(child) for child in pids[1:]),
        **{name: sum(map(_process_cpu, members)) for name, members in services.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--centers", type=int, default=None, help="default: voters / 1000")
    parser.add_argument("--locale", choices=["en", "ar"], default="en")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--strategies", default=",".join(STRATEGIES), help="comma-separated; empty: none"
    )
    parser.add_argument(
        "--task-voters", type=int, default=None, help="the worker's ROLL_TASK_VOTERS"
    )
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every strategy and the ideal this many times, in turn; print medians",
    )
    parser.add_argument(
        "--no-ideal",
        action="store_true",
        help="skip drawing every book in this process (minutes at a million voters)",
    )
    parser.add_argument(
        "--no-renderers",
        action="store_true",
        help="skip timing the old renderer against the new one",
    )
    parser.add_argument(
        "--storages",
        default="local",
        help="comma-separated: local, s3 (the rolls on a private SeaweedFS started for the "
        "run); with both, every strategy runs on each and S3 / local is printed",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print each run's costliest SQL statements (needs pg_stat_statements loaded)",
    )
    options = parser.parse_args()
    centers = options.centers or max(1, options.voters // 1000)
    strategies = [name for name in options.strategies.split(",") if name]

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
        ROLLS_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="project.settings",
        LOG_LEVEL="WARNING",
    )
    if options.task_voters:
        os.environ["ROLL_TASK_VOTERS"] = str(options.task_voters)
    import django

    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command(
        "seed_voters",
        voters=options.voters,
        centers=centers,
        seed=options.seed,
        locale=options.locale,
        replace=True,
        stdout=io.StringIO(),
    )
    seed_seconds = time.perf_counter() - started
    # The server processes, found once: a backend started later is a child of the
    # postmaster, whose CPU includes its reaped children.
    services = {
        "postgres": _service_pids(os.environ["DATABASE_URL"], 5432),
        "rabbitmq": _service_pids(broker, 5672),
    }
    statements = _statements_available() if options.statements else False

    rows: list[dict] = []
    ideals: list[dict] = []
    outputs: dict[str, dict[str, str]] = {}
    peaks: dict[str, dict[str, int]] = {}
    kinds = [kind for kind in ("local", "s3") if kind in options.storages.split(",")]
    if not kinds:
        sys.exit("--storages takes local, s3 or both")
    seaweedfs = _seaweedfs() if "s3" in kinds else None
    peaks = {kind: {"main": 0, "child": 0} for kind in kinds}
    for round_number in range(1, options.rounds + 1):
        this_round = []
        # Storages in turn, in alternating order: the machine's load drifts, and each
        # round compares the two at about the same time. A worker per storage and
        # round (settings are read once per process), warmed by one run when compared.
        for kind in kinds if round_number % 2 else kinds[::-1]:
            env = seaweedfs.environment() if seaweedfs and kind == "s3" else {}
            with _worker(options.workers, env) as worker, _storages(env):
                if len(kinds) > 1:
                    warm = {"main": 0, "child": 0}
                    _run_strategy(
                        strategies[-1], worker.pid, services, options.timeout, warm, False
                    )
                for strategy in strategies:
                    row, outputs[f"{strategy} ({kind})"] = _run_strategy(
                        strategy, worker.pid, services, options.timeout, peaks[kind], statements
                    )
                    this_round.append({"round": round_number, "storage": kind, **row})
                main_kib, child_kib = _peak_rss_kib(worker.pid)
                peaks[kind]["main"] = max(peaks[kind]["main"], main_kib)
                peaks[kind]["child"] = max(peaks[kind]["child"], child_kib)
        local = [row for row in this_round if row["storage"] == kinds[0]]
        single = next((r for r in local if r["strategy"] == "single"), None)
        ideal = None
        if not options.no_ideal:
            # The ideal of this round, drawn while no worker runs: each round's
            # strategies are compared with what this machine could do at that time.
            one_process, one_process_cpu = _draw_every_book(_last_books())
            ideal = one_process / options.workers
            ideals.append(
                {
                    "round": round_number,
                    "ideal_seconds": round(ideal, 3),
                    "one_process_render_seconds": round(one_process, 3),
                    "one_process_render_cpu_seconds": round(one_process_cpu, 3),
                }
            )
        for row in local:
            row["times_ideal"] = round(row["wall_seconds"] / ideal, 2) if ideal else None
            row["speedup_vs_single"] = (
                round(single["wall_seconds"] / row["wall_seconds"], 2) if single else None
            )
        rows += this_round

    # Same work, same output: every strategy must have written byte-identical files.
    if outputs:
        first = next(iter(outputs.values()))
        differing = [name for name, files in outputs.items() if files != first]
        if differing:
            sys.exit(f"strategies {', '.join(differing)} wrote other files than {strategies[0]}")

    books = _last_books()
    renderers = [] if options.no_renderers else _compare_renderers(books, rounds=3)

    first_rows = [row for row in rows if row["storage"] == kinds[0]]
    _print_table(options, centers, len(books), seed_seconds, first_rows, ideals)
    if len(outputs) > 1:
        print(f"every strategy wrote the same {len(first)} files, byte for byte (sha256 compared)")
    for kind, peak in peaks.items():
        print(
            f"worker peak RSS ({kind} storage): main process {peak['main'] / 1024:.0f} MiB, "
            f"largest pool child {peak['child'] / 1024:.0f} MiB "
            f"(ROLL_TASK_VOTERS={settings.ROLL_TASK_VOTERS})"
        )
    if len(kinds) > 1:
        _print_storage_ratios(rows)
    if renderers:
        _print_renderers(renderers)
    if statements:
        _print_statements(rows)

    results.write(
        f"rollgen-{options.voters}"
        + ("" if options.locale == "en" else f"-{options.locale}")
        + "".join(f"-{kind}" for kind in kinds if kind != "local"),
        {
            "voters": options.voters,
            "centers": centers,
            "locale": options.locale,
            "workers": options.workers,
            "rounds": options.rounds,
            "task_voters": settings.ROLL_TASK_VOTERS,
            "seed_seconds": round(seed_seconds, 3),
            "ideals": ideals,
            "renderers": renderers,
            "worker_peak_rss_kib": max(max(peak.values()) for peak in peaks.values()),
            "worker_main_peak_rss_kib": peaks[kinds[0]]["main"],
            "worker_child_peak_rss_kib": peaks[kinds[0]]["child"],
            "worker_peak_rss_kib_by_storage": peaks,
            "strategies": rows,
        },
    )


def _seaweedfs():
    """A private SeaweedFS with the project's buckets, removed when the script ends."""
    from tests.seaweedfs import OwnSeaweedFS

    server = OwnSeaweedFS()
    atexit.register(server.remove)
    server.start()
    server.create_buckets()
    return server


@contextlib.contextmanager
def _storages(env: dict[str, str]):
    """This process's storages as the worker's: object storage when ``env`` names one."""
    if not env:
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    from filestore.configuration import from_environment

    storages, media_url = from_environment(env)
    with override_settings(
        STORAGES={**storages, "staticfiles": settings.STORAGES["staticfiles"]}, MEDIA_URL=media_url
    ):
        yield


def _print_storage_ratios(rows: list[dict]) -> None:
    """Each strategy's wall time and largest pool child on S3 against local folders."""
    print("\nrolls on object storage (SeaweedFS) against local folders, medians:")
    print(f"{'strategy':<12} {'local s':>8} {'s3 s':>8} {'s3/local':>9} (target <= 1.25)")
    for strategy in dict.fromkeys(row["strategy"] for row in rows):
        walls = {
            kind: statistics.median(
                r["wall_seconds"]
                for r in rows
                if r["strategy"] == strategy and r["storage"] == kind
            )
            for kind in ("local", "s3")
        }
        print(
            f"{strategy:<12} {walls['local']:>8.2f} {walls['s3']:>8.2f} "
            f"{walls['s3'] / walls['local']:>9.2f}"
        )


@contextlib.contextmanager
def _worker(processes: int, env: dict[str, str]):
    """Start bin/worker with ``processes`` prefork children on the bench's vhost, with
    ``env`` on top (object storage's variables); stop it on the way out."""
    log = tempfile.NamedTemporaryFile("w+", prefix="rollgen-worker-", suffix=".log")  # noqa: SIM115
    name = f"bench-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen(
        [str(ROOT / "bin" / "worker")],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "WORKER_NAME": name,
            "WORKER_CONCURRENCY": str(processes),
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
    started = time.perf_counter()
    try:
        while (
            f"{name}@" not in Path(log.name).read_text()
            or " ready." not in Path(log.name).read_text()
        ):
            if worker.poll() is not None or time.perf_counter() - started > 60:
                sys.exit(f"worker did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()


def _run_strategy(
    strategy: str,
    worker_pid: int,
    services: dict[str, list[int]],
    timeout: float,
    peaks: dict[str, int],
    statements: bool,
) -> tuple[dict, dict[str, str]]:
    """Run one roll from "run started" to "zip ready"; return its row and files' hashes."""
    from django_celery_results.models import TaskResult

    from voterroll import run_files
    from voterroll import services as roll_services
    from voterroll.models import RollRun

    before = TaskResult.objects.count()
    maintenance = _maintenance()
    if statements:
        _sql("SELECT pg_stat_statements_reset()")
    cpu_before = _cpu_seconds(worker_pid, _current(services))
    started = time.perf_counter()
    run = roll_services.queue_run(strategy=strategy)
    polls = 0
    # The largest child's high-water mark when a quarter, half, ... of the
    # stations were drawn: flat if a task leaves nothing behind.
    child_by_quarter: dict[int, int] = {}
    while run.is_active and time.perf_counter() - started < timeout:
        time.sleep(0.02)
        run.refresh_from_db()
        polls += 1
        # Sampled while running: a child recycled after max-tasks-per-child takes
        # its high-water mark with it.
        if polls % 10 == 0:
            main_kib, child_kib = _peak_rss_kib(worker_pid)
            peaks["main"] = max(peaks["main"], main_kib)
            peaks["child"] = max(peaks["child"], child_kib)
            if run.stations_count:
                quarter = 4 * run.stations_done // run.stations_count
                child_by_quarter.setdefault(quarter, child_kib // 1024)
    wall = time.perf_counter() - started
    if run.state != RollRun.State.DONE:
        sys.exit(f"{strategy}: run {run.id} ended {run.state}: {run.error}")
    # Results are stored as each task ends; let the last writes land.
    time.sleep(0.5)
    cpu_after = _cpu_seconds(worker_pid, _current(services))
    cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_after}
    phases = run.phase_seconds()
    with run_files.storage().open(run.metadata_file) as stored:
        metadata = json.load(stored)
    row = {
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
        # All that CPU divided among the cores: about the soonest any schedule could
        # finish, the floor this strategy's wall time is measured against.
        "cpu_floor_seconds": round(sum(cpu.values()) / len(os.sched_getaffinity(0)), 3),
        # Autovacuum and auto-ANALYZE passes on the roll's tables during the run.
        "maintenance": {
            table: [now - then for now, then in zip(counts, maintenance[table], strict=True)]
            for table, counts in _maintenance().items()
        },
    }
    if statements:
        row["statements"] = _top_statements()
    return row, {entry["path"]: entry["sha256"] for entry in metadata["files"]}


def _current(services: dict[str, list[int]]) -> dict[str, list[int]]:
    """Each service's main process with its children as they are now."""
    return {name: _worker_pids(pids[0]) if pids else [] for name, pids in services.items()}


def _sql(query: str) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall() if cursor.description else []


def _statements_available() -> bool:
    """Whether pg_stat_statements can be read here (the server must preload it)."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic():
            _sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            _sql("SELECT pg_stat_statements_reset()")
    except DatabaseError as error:
        print(f"--statements: pg_stat_statements is not available ({error})".strip())
        return False
    return True


def _top_statements(limit: int = 8) -> list[dict]:
    """The statements of the bench's database that took the most time since the reset."""
    found = _sql(
        f"""
        SELECT calls, total_exec_time + total_plan_time, rows, query
        FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY 2 DESC LIMIT {limit}
        """  # noqa: S608 - a literal number
    )
    return [
        {"calls": calls, "ms": round(ms, 1), "rows": rows, "query": " ".join(query.split())[:160]}
        for calls, ms, rows, query in found
    ]


def _maintenance() -> dict[str, tuple[int, int, int, int]]:
    """(autovacuum, auto-ANALYZE, VACUUM, ANALYZE) passes so far on the roll's tables.

    None on SQLite (the embedded default, bench/embedded.py), which keeps no such counts.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    found = _sql(
        """
        SELECT relname, autovacuum_count, autoanalyze_count, vacuum_count, analyze_count
        FROM pg_stat_user_tables WHERE relname LIKE 'voterroll_%'
           OR relname = 'django_celery_results_taskresult'
        """
    )
    return {name: tuple(counts) for name, *counts in found}


def _last_books() -> list:
    from voterroll.models import RollRun, Station

    last = RollRun.objects.filter(state=RollRun.State.DONE).order_by("-id").first()
    if last is None:
        # No strategy ran: assign a run to have stations to draw.
        from voterroll import rolls

        last = rolls.assign(rolls.create_run(strategy="single").id)
    return list(
        Station.objects.filter(run=last)
        .select_related("center", "run")
        .order_by("center__code", "number")
    )


def _draw_every_book(books: list) -> tuple[float, float]:
    """Draw the station books back to back in this warm process with the new renderer:
    (seconds, CPU seconds) of drawing alone, each station's rows read untimed."""
    from voterroll import pdfs
    from voterroll.models import Assignment

    seconds = cpu = 0.0
    for index, station in enumerate(books):
        rows = Assignment.objects.book_rows_of([station.id]).get(station.id, [])
        started, cpu_started = time.perf_counter(), time.process_time()
        pdfs.render_station_book(station, rows)
        if index:  # the first warms the process up
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
    # The first book counted as the average of the others.
    scale = len(books) / max(1, len(books) - 1)
    return seconds * scale, cpu * scale


def _compare_renderers(books: list, *, rounds: int) -> list[dict]:
    """CPU per page of the old renderer (bench/old_station_book.py) and the new one, on
    the same stations, in turn; each starts with empty shaping caches, as a worker does."""
    from bench import old_station_book
    from voterroll import pdfs
    from voterroll.models import Assignment

    step = max(1, len(books) // RENDERER_SAMPLE)
    sample = books[::step][:RENDERER_SAMPLE]
    voters = Assignment.objects.book_rows_of([station.id for station in sample])
    renderers = {
        "old (Platypus table per page)": (
            old_station_book.render_station_book,
            [old_station_book._shaped],
        ),
        "new (canvas)": (pdfs.render_station_book, [pdfs._shaped, pdfs._shaped_word]),
    }
    measured = []
    for round_number in range(1, rounds + 1):
        for name, (render, caches) in renderers.items():
            for cache in caches:
                cache.cache_clear()
            pages, size = 0, 0
            started = time.process_time()
            for station in sample:
                data, drawn = render(station, voters.get(station.id, []))
                pages, size = pages + drawn, size + len(data)
            cpu = time.process_time() - started
            measured.append(
                {
                    "round": round_number,
                    "renderer": name,
                    "stations": len(sample),
                    "pages": pages,
                    "ms_per_page": round(1000 * cpu / pages, 3),
                    "kib_per_page": round(size / pages / 1024, 2),
                }
            )
    return measured


def _print_renderers(measured: list[dict]) -> None:
    names = list(dict.fromkeys(entry["renderer"] for entry in measured))
    per_page = {
        name: [entry["ms_per_page"] for entry in measured if entry["renderer"] == name]
        for name in names
    }
    first = next(entry for entry in measured if entry["renderer"] == names[0])
    print(
        f"\nrenderers, CPU per page on the same {first['stations']} stations "
        f"({first['pages']} pages), median of {len(per_page[names[0]])} rounds (range):"
    )
    for name in names:
        size = next(entry["kib_per_page"] for entry in measured if entry["renderer"] == name)
        print(f"  {name:32} {spread(per_page[name], 3)} ms/page, {size:.1f} KiB/page")
    old, new = (statistics.median(per_page[name]) for name in names)
    ratios = sorted(o / n for o, n in zip(per_page[names[0]], per_page[names[1]], strict=True))
    by_round = f"{ratios[0]:.1f}-{ratios[-1]:.1f}x"
    print(f"  new draws a page in {old / new:.1f}x less CPU (rounds: {by_round})")


def _print_statements(rows: list[dict]) -> None:
    for row in rows:
        print(f"\n{row['strategy']} (round {row['round']}), costliest statements:")
        for entry in row.get("statements", []):
            print(f"  {entry['ms']:9.1f} ms {entry['calls']:6d} calls  {entry['query']}")


def _print_table(options, centers: int, stations: int, seed_seconds: float, rows, ideals):
    """Print each strategy's median over the rounds, with the range when there are several."""
    rounds = f", median of {options.rounds} rounds (range)" if options.rounds > 1 else ""
    print(
        f"\n{options.voters} voters ({options.locale}), {centers} centers, {stations} stations, "
        f"{options.workers} worker processes (seeding {seed_seconds:.1f} s){rounds}"
    )
    if not rows:
        return
    # (title, key, decimals, with range): ranges only where rounds are compared.
    columns = [
        ("strategy", "strategy", 0, False),
        ("wall s", "wall_seconds", 2, True),
        ("x ideal", "times_ideal", 2, True),
        ("x faster than single", "speedup_vs_single", 2, True),
        ("CPU floor s", "cpu_floor_seconds", 2, True),
        ("worker CPU s", "worker_cpu_seconds", 2, False),
        ("assign s", "assign_seconds", 2, False),
        ("tasks", "tasks_sent", 0, False),
        ("pages", "pages", 0, False),
        ("voters/s", "voters_per_second", 0, False),
    ]
    table = []
    for strategy in dict.fromkeys(row["strategy"] for row in rows):
        mine = [row for row in rows if row["strategy"] == strategy]
        cells = [strategy]
        for _, key, digits, ranged in columns[1:]:
            values = [row[key] for row in mine if row[key] is not None]
            if not values:
                cells.append("-")
            elif ranged:
                cells.append(spread(values, digits))
            else:
                cells.append(f"{statistics.median(values):.{digits}f}")
        table.append(cells)
    if ideals:
        ideal_seconds = [entry["ideal_seconds"] for entry in ideals]
        table.append(["ideal", spread(ideal_seconds), "1.00"] + [""] * (len(columns) - 3))
    widths = [
        max(len(column[0]), *(len(cells[i]) for cells in table)) for i, column in enumerate(columns)
    ]
    line = "  ".join(column[0].rjust(width) for column, width in zip(columns, widths, strict=True))
    print(line)
    print("-" * len(line))
    for cells in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True)))
    if ideals:
        one_process = [entry["one_process_render_seconds"] for entry in ideals]
        one_cpu = [entry["one_process_render_cpu_seconds"] for entry in ideals]
        print(f"one process drawing every book: {spread(one_process)} s ({spread(one_cpu)} s CPU)")
    for strategy in dict.fromkeys(row["strategy"] for row in rows):
        mine = [row for row in rows if row["strategy"] == strategy]
        phases = ", ".join(
            f"{name} {spread([row['phase_seconds'][name] for row in mine])}"
            for name in mine[0]["phase_seconds"]
        )
        print(f"{strategy} phases (s): {phases}")
        where = ", ".join(
            f"{name} {spread([row['cpu_seconds'][name] for row in mine])}"
            for name in mine[0]["cpu_seconds"]
        )
        print(f"{strategy} CPU (s): worker {where}")
        quarters = ", ".join(
            f"{25 * q}% {mib} MiB"
            for q, mib in sorted(mine[-1]["child_peak_rss_mib_by_quarter"].items())
        )
        print(f"{strategy} largest pool child's peak RSS by stations drawn: {quarters}")
        kinds = ("autovacuum", "auto-ANALYZE", "VACUUM", "ANALYZE")
        passes = ", ".join(
            f"{table} "
            + " ".join(f"{kind} {n}" for kind, n in zip(kinds, counts, strict=True) if n)
            for table, counts in sorted(mine[-1]["maintenance"].items())
            if any(counts)
        )
        print(f"{strategy} maintenance passes during the run: {passes or 'none'}")


if __name__ == "__main__":
    main()
