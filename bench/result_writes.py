"""What writing a task's result and a chord vote costs: ours against django-celery-results.

Every task stores a result row, and every chord header task also votes. Both are done
here in this one process against the configured database, in alternating rounds, by
django-celery-results' own code and by the project's (tasking/models.py ResultWriter,
tasking/results.py): wall and CPU milliseconds per write, and statements sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backlot_bench \\
    .venv/bin/python bench/result_writes.py --writes 500 --rounds 3
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness, results  # noqa: E402 - after sys.path is set


def main() -> None:
    options = harness.rounds_arguments(
        __doc__, per_round="writes", help="writes per round and kind"
    )
    harness.setup_django()
    from celery import states
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_celery_results.backends.database import DatabaseBackend as PeerBackend
    from django_celery_results.models import ChordCounter, TaskResult

    from project.celery import app
    from tasking.models import ChordVote
    from tasking.results import DatabaseBackend
    from tests.tasks import add

    call_command("migrate", verbosity=0)
    ours, peer = DatabaseBackend(app=app), PeerBackend(app=app)
    # A counter that never reaches zero: each vote is a decrement, never a callback.
    group_id = str(uuid.uuid4())
    header = app.GroupResult(group_id, [app.AsyncResult(str(uuid.uuid4()))])
    ours.apply_chord(header, add.si(1, 2))
    ChordCounter.objects.filter(group_id=group_id).update(count=10**9)

    written: list[str] = []

    def request(task_id: str) -> SimpleNamespace:
        written.append(task_id)
        return SimpleNamespace(
            id=task_id,
            group=group_id,
            chord=add.si(1, 2),
            task="voterroll.render_station",
            args=[1, 2],
            kwargs={},
            hostname="bench@host",
            retries=0,
            delivery_info={"routing_key": "pdf"},
            ignore_result=False,
            properties={},
            parent_id=None,
            root_id=None,
            group_index=None,
            periodic_task_name=None,
        )

    kinds = {
        ("result", "django-celery-results"): lambda r: peer.store_result(
            r.id, {"file": "C001/station-001.pdf", "pages": 23}, states.SUCCESS, request=r
        ),
        ("result", "ours"): lambda r: ours.store_result(
            r.id, {"file": "C001/station-001.pdf", "pages": 23}, states.SUCCESS, request=r
        ),
        ("vote", "django-celery-results"): lambda r: peer.on_chord_part_return(
            r, states.SUCCESS, None
        ),
        ("vote", "ours"): lambda r: ours.on_chord_part_return(r, states.SUCCESS, None),
    }
    statements: dict[tuple[str, str], int] = {}
    for kind, write in kinds.items():  # warm up; count what one write sends
        write(request(str(uuid.uuid4())))
        with CaptureQueriesContext(connection) as queries:
            write(request(str(uuid.uuid4())))
        statements[kind] = len(queries.captured_queries)
    wall: dict[tuple[str, str], list[float]] = {kind: [] for kind in kinds}
    cpu: dict[tuple[str, str], list[float]] = {kind: [] for kind in kinds}
    for _ in range(options.rounds):
        for kind, write in kinds.items():
            requests = [request(str(uuid.uuid4())) for _ in range(options.writes)]
            started, cpu_started = time.perf_counter(), time.process_time()
            for one in requests:
                write(one)
            wall[kind].append((time.perf_counter() - started) * 1000 / options.writes)
            cpu[kind].append((time.process_time() - cpu_started) * 1000 / options.writes)

    # Leave the scratch database as it was.
    TaskResult.objects.filter(task_id__in=written).delete()
    ChordVote.objects.filter(group_id=group_id).delete()
    ChordCounter.objects.filter(group_id=group_id).delete()

    print(f"{options.writes} writes per round, {options.rounds} rounds, {connection.vendor}")
    print(f"{'write':<8}{'by':<24}{'ms each':>9}{'CPU ms':>8}{'statements':>12}")
    for (what, by), values in wall.items():
        print(
            f"{what:<8}{by:<24}{statistics.median(values):>9.2f}"
            f"{statistics.median(cpu[(what, by)]):>8.2f}{statements[(what, by)]:>12}"
        )
    for what in ("result", "vote"):
        faster = statistics.median(wall[(what, "django-celery-results")]) / statistics.median(
            wall[(what, "ours")]
        )
        print(f"{what}: ours {faster:.1f}x as fast")
    results.write(
        "result_writes",
        {
            "writes_per_round": options.writes,
            "rounds": options.rounds,
            "vendor": connection.vendor,
            "ms_each": {f"{what} {by}": values for (what, by), values in wall.items()},
            "cpu_ms_each": {f"{what} {by}": values for (what, by), values in cpu.items()},
            "statements": {f"{what} {by}": n for (what, by), n in statements.items()},
        },
    )


if __name__ == "__main__":
    main()
