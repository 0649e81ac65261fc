"""The production shape for a benchmark: DEBUG=0, a RabbitMQ vhost and a DATA_DIR of its own."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.rabbitmq_vhost import own_vhost
from tests.processes import ROOT, manage, project_env


def require_services() -> None:
    """Stop with a message unless DATABASE_URL is PostgreSQL and REDIS_URL is set."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (it is migrated)")
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("set REDIS_URL: the shared answer lives in the cache, as in production")


def production_env(stack: ExitStack, *, prefix: str) -> dict[str, str]:
    """Migrate, collect static files, and return the environment of the processes.

    The vhost and the folder last as long as ``stack``.
    """
    broker = stack.enter_context(
        own_vhost(os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    )
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    env = project_env(
        CELERY_BROKER_URL=broker,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATA_DIR=str(folder),
        STATIC_ROOT=str(folder / "static"),
    )
    manage("migrate", "--noinput", env=env, timeout=600)
    subprocess.run(
        [str(ROOT / "bin" / "collectstatic")], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


def p95(values: list[float]) -> float:
    """The 95th percentile (the value itself for a single one)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
