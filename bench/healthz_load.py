"""What 50 concurrent /healthz callers cost the other pages: one shared worker ping vs one per call.

Starts the production shape (DEBUG=0 after bin/collectstatic, gunicorn as the Procfile
runs it, one worker, beat) on a RabbitMQ vhost of its own, then for each way of
answering /healthz measures GET /posts/ idle, and again while ``--callers`` threads
each call /healthz, wait ``--pause`` seconds, and call again. "shared" is the project's
(HEALTHZ_CACHE_SECONDS=5: one ping serves every caller for 5 s); "every call" asks the
workers on each request (HEALTHZ_CACHE_SECONDS=0), as /healthz used to.

Usage (PostgreSQL, RabbitMQ with rabbitmqctl, Redis; the database is migrated):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/healthz_load.py --callers 50 --seconds 20

Prints a table and writes bench/results/healthz_load.json. The target: page latency
under load within 1.5x of idle, for "shared".
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results  # noqa: E402 - after sys.path is set
from bench.production_shape import (  # noqa: E402 - after sys.path is set
    p95,
    production_env,
    require_services,
)
from tests.processes import (  # noqa: E402 - after sys.path is set
    beat_process,
    web_process,
    worker_process,
)

MODES = {"shared": "5", "every call": "0"}
TARGET = 1.5
# Seconds between two page requests of the measuring client.
GAP = 0.05


def fetch(netloc: str, path: str) -> tuple[int, float]:
    """GET ``path`` on a new connection, as a probe does; return status and seconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(netloc, timeout=60)
    try:
        # As behind the TLS-terminating proxy production runs behind.
        connection.request("GET", path, headers={"X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return response.status, time.perf_counter() - started


def page_latencies(netloc: str, *, seconds: float, least: int = 1) -> list[float]:
    """GET /posts/ one after another for ``seconds`` (and at least ``least`` times)."""
    took: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or len(took) < least:
        status, latency = fetch(netloc, "/posts/")
        if status != 200:
            raise SystemExit(f"/posts/ answered {status}")
        took.append(latency)
        time.sleep(GAP)
    return took


def measure(netloc: str, *, callers: int, pause: float, seconds: float) -> dict:
    """Time /posts/ idle, then while ``callers`` threads keep calling /healthz."""
    page_latencies(netloc, seconds=2)  # warm the web process up
    idle = page_latencies(netloc, seconds=seconds)
    stop = threading.Event()
    probes: list[tuple[float, int, float]] = []

    def probe() -> None:
        while not stop.is_set():
            status, latency = fetch(netloc, "/healthz")
            probes.append((time.monotonic(), status, latency))
            stop.wait(pause)

    threads = [threading.Thread(target=probe) for _ in range(callers)]
    for thread in threads:
        thread.start()
    time.sleep(pause + 2)  # every caller under way, the first ping answered
    started = time.monotonic()
    loaded = page_latencies(netloc, seconds=seconds)
    ended = time.monotonic()
    stop.set()
    for thread in threads:
        thread.join()
    during = [(status, latency) for at, status, latency in probes if started <= at <= ended]
    return {
        "idle_pages": len(idle),
        "loaded_pages": len(loaded),
        "idle_median_ms": round(statistics.median(idle) * 1000, 1),
        "idle_p95_ms": round(p95(idle) * 1000, 1),
        "loaded_median_ms": round(statistics.median(loaded) * 1000, 1),
        "loaded_p95_ms": round(p95(loaded) * 1000, 1),
        "ratio_median": round(statistics.median(loaded) / statistics.median(idle), 2),
        "ratio_p95": round(p95(loaded) / p95(idle), 2),
        "healthz_per_second": round(len(during) / (ended - started), 1),
        "healthz_median_ms": round(statistics.median([t for _, t in during]) * 1000, 1)
        if during
        else None,
        "healthz_statuses": sorted({status for status, _ in during}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=50, help="concurrent /healthz callers")
    parser.add_argument(
        "--pause", type=float, default=1.0, help="seconds each caller waits between its calls"
    )
    parser.add_argument(
        "--seconds", type=float, default=20, help="seconds of /posts/ requests per phase"
    )
    options = parser.parse_args()
    require_services()

    with ExitStack() as stack:
        env = production_env(stack, prefix="healthz-")
        stack.enter_context(worker_process(env))
        stack.enter_context(beat_process(env))
        rows = {}
        for mode, cache_seconds in MODES.items():
            with web_process({**env, "HEALTHZ_CACHE_SECONDS": cache_seconds}) as base:
                rows[mode] = measure(
                    urlsplit(base).netloc,
                    callers=options.callers,
                    pause=options.pause,
                    seconds=options.seconds,
                )
                print(f"{mode}: {rows[mode]}", flush=True)

    print()
    print(
        f"GET /posts/ for {options.seconds:g} s idle, then with {options.callers} /healthz callers"
        f" (each pausing {options.pause:g} s); pages = requests idle/loaded; medians in ms;"
        " gunicorn 1 process x 4 threads, DEBUG=0"
    )
    header = (
        "/healthz",
        "pages",
        "idle ms",
        "loaded ms",
        "x idle",
        "p95 idle",
        "p95 loaded",
        "x",
        "healthz/s",
        "healthz ms",
    )
    print("  ".join(f"{h:>11}" for h in header))
    for mode, row in rows.items():
        cells = (
            mode,
            f"{row['idle_pages']}/{row['loaded_pages']}",
            row["idle_median_ms"],
            row["loaded_median_ms"],
            row["ratio_median"],
            row["idle_p95_ms"],
            row["loaded_p95_ms"],
            row["ratio_p95"],
            row["healthz_per_second"],
            row["healthz_median_ms"],
        )
        print("  ".join(f"{c:>11}" for c in cells))
    verdict = "met" if rows["shared"]["ratio_median"] <= TARGET else "MISSED"
    print(f"target: shared loaded median within {TARGET}x of idle: {verdict}")
    results.write(
        "healthz_load",
        {
            "callers": options.callers,
            "pause": options.pause,
            "seconds": options.seconds,
            "target": TARGET,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
