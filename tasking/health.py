"""Liveness of the parts background work depends on: database, broker, workers."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from celery import Celery
from django.db import connection

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
    return Check(ok=True, detail=str(transport))


def check_workers(app: Celery, *, timeout: float) -> Check:
    """Ask every worker for the queues it consumes (a remote-control broadcast)."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:
        return Check(ok=False, detail=f"{type(exc).__name__}: {exc}".strip())
    workers = [
        {"name": name, "queues": sorted(q["name"] for q in queues)}
        for name, queues in sorted(replies.items())
    ]
    if not workers:
        return Check(ok=False, detail=f"no worker answered within {timeout:g} s")
    return Check(ok=True, detail=f"{len(workers)} up", data={"workers": workers})


def report(app: Celery, *, worker_timeout: float) -> dict[str, Any]:
    """Run every check and say which failed; workers are only asked if the broker is up."""
    checks = {"database": check_database(), "broker": check_broker(app)}
    if checks["broker"].ok:
        checks["workers"] = check_workers(app, timeout=worker_timeout)
    else:
        checks["workers"] = Check(ok=False, detail="not asked: the broker is unreachable")
    failing = [name for name, check in checks.items() if not check.ok]
    return {
        "status": "ok" if not failing else "fail",
        "failing": failing,
        "checks": {name: asdict(check) for name, check in checks.items()},
    }
