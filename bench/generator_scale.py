"""The "email all active users" generator at scale: peak memory and the deepest queue.

For each size it fills a PostgreSQL database with that many users (ids with gaps),
starts one job, and lets two real workers run it: one consuming only the generator's
steps (its peak resident memory is what is measured) and one sending the emails through
Django's dummy backend. The queue depth is sampled from RabbitMQ throughout.

    .venv/bin/python bench/generator_scale.py --users 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results  # noqa: E402 - after sys.path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.rabbitmq_vhost import own_vhost  # noqa: E402 - after sys.path is set

PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")


def peak_rss_kib(pid: int) -> int:
    """Return a process's peak resident set size (VmHWM) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def database_url(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def prepare_database(url: str, users: int) -> None:
    import psycopg2

    admin = psycopg2.connect(database_url(url, "postgres"))
    admin.autocommit = True
    name = urlsplit(url).path.lstrip("/")
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined)"
            " SELECT '', false, 'u' || i, '', '', 'u' || i || '@example.com', false, true, now()"
            " FROM generate_series(1, %s) AS i",
            [users + users // 6],
        )
        # Gaps in the ids, as in a table where users have been deleted.
        cursor.execute("DELETE FROM auth_user WHERE id % 7 = 0")
        cursor.execute("SELECT count(*) FROM auth_user")
        print(f"  {cursor.fetchone()[0]} users in {urlsplit(url).path}", flush=True)


def worker(env: dict[str, str], queue: str, name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "project",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(users: int, base_url: str, depth_limit: int) -> dict:
    url = database_url(base_url, f"backlot_bench_generator_{users}")
    prepare_database(url, users)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "GENERATOR_MAX_QUEUE_DEPTH": str(depth_limit),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    from bench.email_generator import NAME, STEP_QUEUE
    from tasking import generators
    from tasking.models import GeneratorJob

    step_worker = worker(
        env, STEP_QUEUE, "generator", "--pool", "solo", "--include", "bench.email_generator"
    )
    email_worker = worker(env, "default", "emails", "--concurrency", "2")
    try:
        time.sleep(8)  # both workers connected
        started = time.monotonic()
        job = generators.start(NAME, {"subject": "Bench", "body": "Hello"})
        max_depth = 0
        while True:
            depth = generators.queue_depth("default")
            max_depth = max(max_depth, depth)
            job.refresh_from_db()
            if job.state == GeneratorJob.State.DONE and depth == 0:
                break
            if step_worker.poll() is not None:
                raise RuntimeError("the generator worker died")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        peak = peak_rss_kib(step_worker.pid)
    finally:
        for proc in (step_worker, email_worker):
            proc.terminate()
            proc.wait(60)
    batch_messages = 1000 // 100  # ChunkedGenerator defaults: 1000 rows a step, 100 a task
    return {
        "users": job.rows_done,
        "seconds": round(elapsed, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "max_queue_depth": max_depth,
        "job_max_queue_depth": job.max_queue_depth,
        "limit_plus_one_batch": depth_limit + batch_messages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queue-limit", type=int, default=1000)
    options = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/backlot")
    broker = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    rows = []
    for users in options.users:
        # One process per size, so each starts from a clean interpreter and vhost.
        done = subprocess.run(
            [PYTHON, __file__, "--one", str(users), str(options.queue_limit)],
            env={**os.environ, "DATABASE_URL": base, "CELERY_BROKER_URL": broker},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"the run with {users} users failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'users':>10}{'seconds':>10}{'peak RSS MiB':>14}{'max depth':>11}{'limit+batch':>13}")
    for row in rows:
        print(
            f"{row['users']:>10}{row['seconds']:>10}{row['peak_rss_mib']:>14}"
            f"{row['max_queue_depth']:>11}{row['limit_plus_one_batch']:>13}"
        )
    if len(rows) > 1:
        ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
        print(f"peak memory, largest vs smallest: {ratio:.2f}x (target: within 1.2x)")
    results.write("generator_scale", rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        broker_url = os.environ["CELERY_BROKER_URL"]
        with own_vhost(broker_url):
            result = measure(int(sys.argv[2]), os.environ["DATABASE_URL"], int(sys.argv[3]))
        print(json.dumps(result))
    else:
        main()
