"""Round-trip throughput of a no-op task: the project's base task against raw Celery.

Both tasks run on the same RabbitMQ vhost and the same in-process worker, in alternating
rounds of the same run, so the machine's load affects both alike. Results travel over
RabbitMQ (rpc://) so the database does not dominate what is measured.

    .venv/bin/python bench/base_task_overhead.py --tasks 500 --rounds 3
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness, results  # noqa: E402 - after sys.path is set
from bench.rabbitmq_vhost import own_vhost  # noqa: E402 - after sys.path is set


def main() -> None:
    options = harness.rounds_arguments(__doc__, per_round="tasks", help="tasks per round and kind")
    broker = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    with own_vhost(broker):
        run(options.tasks, options.rounds)


def run(count: int, rounds: int) -> None:
    harness.setup_django()
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for start_worker
    from celery.contrib.testing.worker import start_worker

    from project.celery import app
    from tasking.base import task

    app.conf.result_backend = "rpc://"

    @task(name="bench.noop")
    def project_noop(i: int, **kwargs) -> int:
        return i

    @app.task(name="bench.raw_noop")
    def raw_noop(i: int, **kwargs) -> int:
        return i

    kinds = {"raw Celery task": raw_noop, "project task": project_noop}
    rates: dict[str, list[float]] = {name: [] for name in kinds}
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        without_heartbeat=False,
        loglevel="ERROR",
        perform_ping_check=False,
    ):
        for fn in kinds.values():  # warm up connections and code paths
            [fn.delay(i) for i in range(50)][-1].get(timeout=60)
        for _ in range(rounds):
            for name, fn in kinds.items():
                start = time.perf_counter()
                pending = [fn.delay(i) for i in range(count)]
                for result in pending:
                    result.get(timeout=120)
                rates[name].append(count / (time.perf_counter() - start))

    raw = statistics.median(rates["raw Celery task"])
    ours = statistics.median(rates["project task"])
    overhead = (raw - ours) / raw * 100
    print(f"{'task':<18}{'median tasks/s':>16}{'rounds':>40}")
    for name, values in rates.items():
        rounds_text = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:<18}{statistics.median(values):>16.0f}{rounds_text:>40}")
    print(f"project task overhead: {overhead:+.1f}% of raw throughput (target: under 10%)")
    results.write(
        "base_task_overhead",
        {
            "tasks_per_round": count,
            "rounds": rounds,
            "tasks_per_second": rates,
            "median_raw": raw,
            "median_project": ours,
            "overhead_percent": overhead,
        },
    )


if __name__ == "__main__":
    main()
