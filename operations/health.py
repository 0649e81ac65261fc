"""Liveness of the parts background work depends on: database, broker, workers, beat."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from operations import inspection, shared_answers

logger = logging.getLogger(__name__)


@dataclass
class Check:
    ok: bool
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    return Check(ok=True, detail=connection.vendor)


def check_broker(app: Celery) -> Check:
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1)
            transport = conn.transport_cls
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    if settings.EMBEDDED_BROKER:
        return Check(ok=True, detail=f"embedded Redis ({transport}, under DATA_DIR)")
    return Check(ok=True, detail=str(transport))


def check_workers(app: Celery, *, timeout: float) -> tuple[Check, Check]:
    """Ask every worker for the queues it consumes, and say which queues nobody consumes."""
    try:
        replies = inspection.workers_and_queues(app, timeout=timeout)
    except Exception as exc:
        failure = Check(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
        return failure, Check(ok=False, detail="not known: the workers could not be asked")
    workers = [{"name": name, "queues": queues} for name, queues in replies.items()]
    consumers: dict[str, list[str]] = {name: [] for name in inspection.declared_queues(app)}
    for name, consumed in replies.items():
        for queue in consumed:
            consumers.setdefault(queue, []).append(name)
    uncovered = sorted(queue for queue, names in consumers.items() if not names)
    queues = Check(
        ok=not uncovered,
        detail=f"no worker consumes {', '.join(uncovered)}" if uncovered else "all consumed",
        data={"consumers": consumers},
    )
    if not workers:
        return Check(ok=False, detail=f"no worker answered within {timeout:g} s"), queues
    return Check(ok=True, detail=f"{len(workers)} up", data={"workers": workers}), queues


BEAT_HEARTBEAT_KEY = "tasking:beat-heartbeat"
BEAT_HEARTBEAT_TASK = "tasking.beat_heartbeat"


def record_beat_heartbeat() -> None:
    """Note in the cache that beat is alive now."""
    # No expiry: an old timestamp says more ("dead for 2 hours") than a missing key.
    cache.set(BEAT_HEARTBEAT_KEY, time.time(), timeout=None)


def _on_beat_init(**kwargs: Any) -> None:
    record_beat_heartbeat()


def _on_before_publish(sender: str | None = None, **kwargs: Any) -> None:
    # Only beat publishes the heartbeat task, so this runs in beat, on its own tick,
    # and says nothing about the workers (their coverage is a separate check).
    if sender == BEAT_HEARTBEAT_TASK:
        record_beat_heartbeat()


def connect_beat_heartbeat() -> None:
    """Record beat's heartbeat when beat starts and whenever it publishes the heartbeat task."""
    signals.beat_init.connect(_on_beat_init, weak=False, dispatch_uid="operations.health.beat_init")
    signals.before_task_publish.connect(
        _on_before_publish, weak=False, dispatch_uid="operations.health.beat_heartbeat"
    )


def check_beat(*, max_age: float) -> Check:
    """Say whether beat published its heartbeat within the last ``max_age`` seconds."""
    try:
        beaten = cache.get(BEAT_HEARTBEAT_KEY)
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    if beaten is None:
        return Check(ok=False, detail="beat has never sent a heartbeat")
    age = max(0.0, time.time() - beaten)
    data = {"last_heartbeat_age_seconds": round(age, 1)}
    if age > max_age:
        return Check(ok=False, detail=f"no heartbeat for {age:.0f} s", data=data)
    return Check(ok=True, detail=f"heartbeat {age:.0f} s ago", data=data)


def broker_checks(app: Celery, *, worker_timeout: float) -> dict[str, dict[str, Any]]:
    """Ask the broker, and the workers through it; workers are only asked if it is up."""
    checks = {"broker": check_broker(app)}
    if checks["broker"].ok:
        checks["workers"], checks["queues"] = check_workers(app, timeout=worker_timeout)
    else:
        checks["workers"] = Check(ok=False, detail="not asked: the broker is unreachable")
        checks["queues"] = Check(ok=False, detail="not known: the broker is unreachable")
    return {name: asdict(check) for name, check in checks.items()}


SHARED_ANSWER_KEY = "tasking:healthz:broker-checks"
ASKING_KEY = shared_answers.asking_key(SHARED_ANSWER_KEY)


def _checks(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The checks of an answer kept in the cache."""
    checks: dict[str, dict[str, Any]] = answer["checks"]
    return checks


def shared_broker_checks(
    app: Celery, *, worker_timeout: float, max_age: float
) -> dict[str, dict[str, Any]]:
    """Return the broker-side checks, asked at most once per ``max_age`` by all processes.

    Asking the workers is a broadcast that waits ``worker_timeout`` for replies: done per
    request, a few probes at once held every web thread for that long. The answer is
    shared through the cache (operations/shared_answers.py); ``max_age`` 0 asks every time.
    """
    return shared_answers.shared_answer(
        SHARED_ANSWER_KEY,
        lambda: broker_checks(app, worker_timeout=worker_timeout),
        max_age=max_age,
        ask_timeout=worker_timeout,
    )


def report(
    app: Celery, *, worker_timeout: float, beat_max_age: float, broker_max_age: float = 0
) -> dict[str, Any]:
    """Run every check and say which failed.

    The database and beat are looked at on every call (a query, a cache read); the
    broker-side checks are shared for ``broker_max_age`` seconds (shared_broker_checks).
    """
    checks = {"database": asdict(check_database())}
    checks.update(shared_broker_checks(app, worker_timeout=worker_timeout, max_age=broker_max_age))
    checks["beat"] = asdict(check_beat(max_age=beat_max_age))
    failing = [name for name, check in checks.items() if not check["ok"]]
    return {"status": "ok" if not failing else "fail", "failing": failing, "checks": checks}


def states_only(body: dict[str, Any]) -> dict[str, Any]:
    """Reduce a report to what anyone may see: ok or down per part, nothing else."""
    return {
        "status": body["status"],
        "checks": {name: "ok" if check["ok"] else "down" for name, check in body["checks"].items()},
    }
