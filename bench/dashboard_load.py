"""How long the Tasks dashboard takes to load: worker inspection shared vs asked per load.

Starts the production shape (DEBUG=0 after bin/collectstatic, gunicorn as the Procfile
runs it, one worker) on a RabbitMQ vhost of its own, signs a superuser in, and loads
/tasks/ ``--loads`` times one after another for each way of asking the workers:
"shared" is the project's (DASHBOARD_CACHE_SECONDS=5: one inspection, kept in Redis,
serves every load of every web process for 5 s); "every load" asks the workers on each
request (DASHBOARD_CACHE_SECONDS=0), as the page used to.

Usage (PostgreSQL, RabbitMQ with rabbitmqctl, Redis; the database is migrated):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/dashboard_load.py --loads 30

Prints a table and writes bench/results/dashboard_load.json. The target: every load
(the slowest) under 0.3 s for "shared".
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
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
from tests.processes import manage, web_process, worker_process  # noqa: E402 - after sys.path

MODES = {"shared": "5", "every load": "0"}
TARGET_SECONDS = 0.3
# A signed-in session made without the sign-in form (its CSRF and throttling are not
# what is measured): prints the cookie's name and value.
SESSION = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(
    username="bench-operator", defaults={"is_staff": True, "is_superuser": True}
)
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(settings.SESSION_COOKIE_NAME, session.session_key)
"""


def load(netloc: str, cookie: str) -> float:
    """GET /tasks/ as the signed-in operator; return the seconds it took."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(netloc, timeout=60)
    try:
        # As behind the TLS-terminating proxy production runs behind.
        connection.request(
            "GET", "/tasks/", headers={"X-Forwarded-Proto": "https", "Cookie": cookie}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200 or b"Workers online" not in body:
        raise SystemExit(f"/tasks/ answered {response.status}: {body[:300]!r}")
    return time.perf_counter() - started


def measure(netloc: str, cookie: str, *, loads: int, gap: float) -> dict:
    load(netloc, cookie)  # warm the web process up (imports, connections)
    took = []
    for _ in range(loads):
        took.append(load(netloc, cookie))
        time.sleep(gap)
    return {
        "loads": loads,
        "median_ms": round(statistics.median(took) * 1000, 1),
        "p95_ms": round(p95(took) * 1000, 1),
        "max_ms": round(max(took) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=30, help="page loads per mode")
    parser.add_argument(
        "--gap", type=float, default=0.5, help="seconds between two loads (a viewer's pace)"
    )
    options = parser.parse_args()
    require_services()

    with ExitStack() as stack:
        env = production_env(stack, prefix="dashboard-")
        # The last line: logging may print before it.
        name, key = manage("shell", "-c", SESSION, env=env).splitlines()[-1].split()
        cookie = f"{name}={key}"
        stack.enter_context(worker_process(env))
        rows = {}
        for mode, cache_seconds in MODES.items():
            with web_process({**env, "DASHBOARD_CACHE_SECONDS": cache_seconds}) as base:
                rows[mode] = measure(
                    urlsplit(base).netloc, cookie, loads=options.loads, gap=options.gap
                )
                print(f"{mode}: {rows[mode]}", flush=True)

    print()
    print(
        f"GET /tasks/ {options.loads} times per mode, {options.gap:g} s apart; one worker"
        " answering; gunicorn 1 process x 4 threads, DEBUG=0"
    )
    header = ("inspection", "loads", "median ms", "p95 ms", "max ms")
    print("  ".join(f"{h:>11}" for h in header))
    for mode, row in rows.items():
        cells = (mode, row["loads"], row["median_ms"], row["p95_ms"], row["max_ms"])
        print("  ".join(f"{c:>11}" for c in cells))
    speedup = rows["every load"]["median_ms"] / rows["shared"]["median_ms"]
    print(f"shared is {speedup:.1f}x faster at the median")
    verdict = "met" if rows["shared"]["max_ms"] <= TARGET_SECONDS * 1000 else "MISSED"
    print(f"target: every shared load under {TARGET_SECONDS * 1000:g} ms: {verdict}")
    results.write(
        "dashboard_load",
        {
            "loads": options.loads,
            "gap": options.gap,
            "target_ms": TARGET_SECONDS * 1000,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
