"""Compare quorum with classic queues, on one RabbitMQ node and on a three-node cluster.

Usage (needs PostgreSQL, RabbitMQ 3.10+ with rabbitmq-server, and root to start nodes
as the rabbitmq user; the database's voters and runs are REPLACED):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    .venv/bin/python bench/queue_types.py --tasks 5000 --voters 10000

For each broker (the machine's node on a vhost of its own, then a three-node cluster
of private nodes) and each queue type, in the same run:

- no-op tasks: publish ``--tasks`` messages with publisher confirms, one at a time as a
  web process does, then start a worker and time how long it takes to drain them;
- the roll: ``bench/rollgen.py --strategies batched`` on ``--voters`` voters, wall time
  from "run started" to "zip ready".

Prints each figure and the quorum / classic ratios; writes bench/results/queue_types.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results  # noqa: E402 - after the path is set
from bench.rabbitmq_vhost import own_vhost  # noqa: E402
from tests.faults.rabbitmq import OwnRabbitCluster  # noqa: E402

QUEUE = "bench-noop"


def _env(broker: str, queue_type: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE_TYPE": queue_type,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": os.environ.get("DEBUG", "1"),
        "LOG_LEVEL": "WARNING",
        # bin/worker runs the celery of this interpreter's environment.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


_PUBLISH = """
import sys, time, django
django.setup()
from kombu import Connection
from project.celery import app
from bench.tasks import noop
count, queue = int(sys.argv[1]), sys.argv[2]
with Connection(app.conf.broker_url, transport_options={"confirm_publish": True}) as conn:
    producer = conn.Producer()
    app.amqp.queues[queue](conn.default_channel).declare()
    started = time.perf_counter()
    for _ in range(count):
        noop.apply_async(queue=queue, producer=producer)
    print(time.perf_counter() - started)
"""


def _ready(broker: str, queue: str) -> int:
    from kombu import Connection

    with Connection(broker) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def noop_round(broker: str, queue_type: str, tasks: int, workers: int) -> dict[str, float]:
    """Publish ``tasks`` no-ops with confirms, then time a worker draining them."""
    env = _env(broker, queue_type)
    published = subprocess.run(
        [sys.executable, "-c", _PUBLISH, str(tasks), QUEUE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    publish_s = float(published.stdout.split()[-1])
    log = tempfile.NamedTemporaryFile("w+", prefix="queue-types-", suffix=".log")  # noqa: SIM115
    name = f"bench-{uuid.uuid4().hex[:6]}"
    worker = subprocess.Popen(
        [str(ROOT / "bin" / "worker"), "--include", "bench.tasks", "--without-mingle"],
        cwd=ROOT,
        env={
            **env,
            "WORKER_QUEUES": QUEUE,
            "WORKER_NAME": name,
            "WORKER_CONCURRENCY": str(workers),
            # Its "ready." line, which this script waits for, is logged at INFO.
            "LOG_LEVEL": "INFO",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        while " ready." not in Path(log.name).read_text():
            if worker.poll() is not None:
                sys.exit(f"worker did not start:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.05)
        started = time.perf_counter()
        while _ready(broker.split(";")[0], QUEUE) > 0:
            time.sleep(0.05)
        drain_s = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(60)
        log.close()
        from kombu import Connection

        with Connection(broker.split(";")[0]) as conn:
            conn.default_channel.queue_delete(QUEUE)
    return {
        "publish_per_s": round(tasks / publish_s, 1),
        "drain_per_s": round(tasks / drain_s, 1),
        "publish_s": round(publish_s, 2),
        "drain_s": round(drain_s, 2),
    }


def roll_round(broker: str, queue_type: str, voters: int, workers: int, node: str) -> float:
    """Run bench/rollgen.py's batched strategy; return its wall seconds."""
    env = _env(broker, queue_type)
    if node:
        # rollgen makes its vhost with rabbitmqctl, which targets RABBITMQ_NODENAME.
        env["RABBITMQ_NODENAME"] = node
    subprocess.run(
        [
            sys.executable,
            "bench/rollgen.py",
            f"--voters={voters}",
            f"--workers={workers}",
            "--strategies=batched",
            "--no-ideal",
            "--no-renderers",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    written = json.loads((results.FOLDER / f"rollgen-{voters}.json").read_text())
    return written["strategies"][0]["wall_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-cluster", action="store_true", help="the one node only")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each pair this many times, alternating which type goes first; print medians",
    )
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database (its voters are replaced).")

    rows = []
    single = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    brokers = ["one node"] + ([] if options.no_cluster else ["3-node cluster"])
    for label in brokers:
        with contextlib.ExitStack() as stack:
            if label == "one node":
                url = roll_url = stack.enter_context(own_vhost(single))
                node = ""
            else:
                cluster = OwnRabbitCluster()
                stack.callback(cluster.remove)
                cluster.start()
                # Publishers and workers get the URL list; rollgen makes a vhost of its
                # own on the first node (its queues are replicated all the same).
                url, roll_url, node = cluster.url, cluster.nodes[0].url, cluster.nodes[0].node
            samples: dict[str, list[dict[str, float]]] = {"classic": [], "quorum": []}
            for round_number in range(options.rounds):
                # Alternate the order, so neither type always runs on a warmer machine.
                order = ("classic", "quorum") if round_number % 2 == 0 else ("quorum", "classic")
                for queue_type in order:
                    noop = noop_round(url, queue_type, options.tasks, options.workers)
                    roll = roll_round(roll_url, queue_type, options.voters, options.workers, node)
                    samples[queue_type].append({**noop, "roll_s": roll})
                    print(label, queue_type, samples[queue_type][-1], flush=True)
            for queue_type, measured in samples.items():
                medians = {key: statistics.median(m[key] for m in measured) for key in measured[0]}
                rows.append({"broker": label, "queue_type": queue_type, **medians})

    print()
    print(
        f"{options.tasks} no-op tasks, {options.voters}-voter roll (batched), "
        f"{options.workers} worker processes, medians of {options.rounds} rounds; the "
        "machine is shared, so compare rows of one run only."
    )
    header = ("broker", "queue", "publish/s", "drain/s", "roll s")
    print("  ".join(f"{h:>15}" for h in header))
    for row in rows:
        print(
            f"{row['broker']:>15}  {row['queue_type']:>15}  {row['publish_per_s']:>15}  "
            f"{row['drain_per_s']:>15}  {row['roll_s']:>15}"
        )
    ratios = []
    for label in brokers:
        by_type = {r["queue_type"]: r for r in rows if r["broker"] == label}
        classic, quorum = by_type["classic"], by_type["quorum"]
        ratio = {
            "broker": label,
            "publish_rate_quorum_over_classic": round(
                quorum["publish_per_s"] / classic["publish_per_s"], 2
            ),
            "drain_rate_quorum_over_classic": round(
                quorum["drain_per_s"] / classic["drain_per_s"], 2
            ),
            "roll_time_quorum_over_classic": round(quorum["roll_s"] / classic["roll_s"], 2),
        }
        ratios.append(ratio)
        print(
            f"{label}: quorum's publish rate is {ratio['publish_rate_quorum_over_classic']}x "
            f"classic's, its drain rate {ratio['drain_rate_quorum_over_classic']}x; the roll "
            f"takes {ratio['roll_time_quorum_over_classic']}x classic's time (quorum stays "
            "the default while that is at most 1.3)"
        )
    results.write(
        "queue_types",
        {"tasks": options.tasks, "voters": options.voters, "rows": rows, "ratios": ratios},
    )


if __name__ == "__main__":
    main()
