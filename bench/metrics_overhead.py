"""No-op task throughput with and without the metric signal handlers, on RabbitMQ.

Usage: .venv/bin/python bench/metrics_overhead.py [--tasks 3000] [--rounds 3]

Each round fills the queue with a start marker, N no-op tasks and an end marker, then
starts one prefork worker (one child, so tasks run in order) with METRICS_ENABLED=0 or
1, and times start to end marker. Variants alternate so drifting machine load hits
both alike. Writes bench/results/metrics_overhead.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import results  # noqa: E402 - after sys.path is set


def make_vhost(broker: str) -> tuple[str, str]:
    parts = urlsplit(broker)
    vhost = f"bench-{uuid.uuid4().hex[:10]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, parts.username or "guest"]
        + [".*"] * 3,
        check=True,
        capture_output=True,
    )
    return vhost, urlunsplit(parts._replace(path=f"/{vhost}"))


def run_round(app, env: dict[str, str], tasks: int, workdir: Path) -> float:
    start, end = workdir / f"start-{uuid.uuid4().hex}", workdir / f"end-{uuid.uuid4().hex}"
    with app.producer_or_acquire() as producer:
        app.send_task("bench.mark", args=(str(start),), producer=producer)
        for _ in range(tasks):
            app.send_task("bench.noop", producer=producer)
        app.send_task("bench.mark", args=(str(end),), producer=producer)
    worker = subprocess.Popen(
        [
            str(ROOT / "bin" / "worker"),
            *("--include", "bench.tasks", "--pool", "prefork", "--concurrency", "1"),
            *("--without-heartbeat", "--without-mingle", "--without-gossip"),
        ],
        cwd=ROOT,
        env={**env, "WORKER_NAME": f"bench-{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while not end.exists():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bench worker stopped before the end marker ran")
            time.sleep(0.05)
        time.sleep(0.05)  # let the writer finish the file
    finally:
        worker.terminate()
        worker.wait(30)
    return tasks / (float(end.read_text()) - float(start.read_text()))


def handler_cost(iterations: int) -> float:
    """Microseconds the metric handlers add to one task's signals, sent in this process."""
    from types import SimpleNamespace

    from celery import signals

    from bench import tasks
    from operations import metrics

    # The worker passes the task itself to the signals, not the module's lazy proxy.
    noop = tasks.noop._get_current_object()

    delivery = {"routing_key": "default"}
    request = SimpleNamespace(name=noop.name, hostname="bench@host", delivery_info=delivery)
    noop.push_request(
        id="bench", hostname="bench@host", delivery_info=delivery, backlot_sent_at=time.time()
    )

    def one_task() -> None:
        headers: dict = {}
        signals.before_task_publish.send(sender=noop.name, headers=headers)
        signals.after_task_publish.send(sender=noop.name, routing_key="default")
        signals.task_received.send(sender=None, request=request)
        signals.task_prerun.send(sender=noop, task_id="bench", task=noop)
        signals.task_success.send(sender=noop, result=None)
        signals.task_postrun.send(sender=noop, task_id="bench", task=noop)

    def timed() -> float:
        began = time.perf_counter()
        for _ in range(iterations):
            one_task()
        return (time.perf_counter() - began) / iterations

    try:
        without = min(timed() for _ in range(3))
        metrics.connect()
        with_handlers = min(timed() for _ in range(3))
    finally:
        metrics.disconnect()
        noop.pop_request()
    return 1e6 * (with_handlers - without)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    broker = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    vhost, url = make_vhost(broker)
    workdir = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    # The embedded database and cache under a throwaway DATA_DIR: no-op tasks with
    # ignored results touch neither; only the broker is real.
    env = {
        **os.environ,
        "CELERY_BROKER_URL": url,
        "DATA_DIR": str(workdir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    os.environ.update(
        {k: env[k] for k in ("CELERY_BROKER_URL", "DATA_DIR", "DJANGO_SETTINGS_MODULE")}
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ["METRICS_ENABLED"] = "0"  # the publisher itself is not what is measured
    import django

    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    from project.celery import app

    rates: dict[str, list[float]] = {"without metrics": [], "with metrics": []}
    variants = [("without metrics", "0"), ("with metrics", "1")]
    try:
        for round_number in range(options.rounds):
            # Swap the order every round, so neither variant always runs second.
            for variant, enabled in variants[:: 1 if round_number % 2 == 0 else -1]:
                rate = run_round(app, {**env, "METRICS_ENABLED": enabled}, options.tasks, workdir)
                rates[variant].append(rate)
                print(f"  round {round_number + 1} {variant:<16} {rate:8.0f} tasks/s", flush=True)
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)

    base = statistics.median(rates["without metrics"])
    with_metrics = statistics.median(rates["with metrics"])
    # Paired by round: load from other processes on the machine drifts between rounds
    # far more than the handlers cost, so compare the two runs of each round.
    paired = statistics.median(
        100 * (off - on) / off
        for off, on in zip(rates["without metrics"], rates["with metrics"], strict=True)
    )
    print()
    print(f"no-op tasks on RabbitMQ, 1 prefork child, {options.tasks} tasks x {options.rounds}")
    print(f"{'variant':<18}{'median tasks/s':>16}")
    print(f"{'without metrics':<18}{base:>16.0f}")
    print(f"{'with metrics':<18}{with_metrics:>16.0f}")
    print(f"overhead (median of per-round differences): {paired:.1f}%")
    print(f"target: under 5% -> {'met' if paired < 5 else 'NOT met'}")
    # The end-to-end figure is noisy on a shared machine; the handlers' own cost per
    # task, set against the time one no-op task takes, is the steadier check.
    cost = handler_cost(5000)
    share = 100 * cost * 1e-6 * base
    print(f"handlers' cost per task, in-process: {cost:.0f} us = {share:.1f}% of a no-op task")

    results.write(
        "metrics_overhead",
        {
            "benchmark": "metrics_overhead",
            "tasks_per_round": options.tasks,
            "rounds": options.rounds,
            "rates": rates,
            "median_without": base,
            "median_with": with_metrics,
            "overhead_percent": paired,
            "handler_cost_us_per_task": cost,
            "handler_cost_percent_of_noop": share,
            "target_percent": 5,
        },
    )


if __name__ == "__main__":
    main()
