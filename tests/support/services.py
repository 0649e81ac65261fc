"""Checks that the services a test needs are there, failing the run at once if one is not.

Tests that request no service fixture are *pure*: they run with no server at all
(``make test-fast`` selects them with ``-m pure``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import redis
from django.conf import settings
from kombu import Connection

# Fixtures that reach PostgreSQL, RabbitMQ, Redis or a server of the test's own; a test
# whose fixture closure holds none of them, and that has no marker below, is pure.
SERVICE_FIXTURES = frozenset(
    {
        "services",
        "postgres_server",
        "rabbitmq_vhost",
        "redis_server",
        "django_db_setup",
        "celery_session_worker",
        "seaweedfs",
        "browser_page",
    }
)
# Markers of tests that start servers or whole stacks of their own.
SERVICE_MARKERS = ("django_db", "browser", "faults", "embedded")


def needs_services(item: pytest.Item) -> bool:
    """Whether a collected test reaches a service, judged by its fixtures and markers."""
    if any(item.get_closest_marker(name) for name in SERVICE_MARKERS):
        return True
    return not SERVICE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def fail(message: str) -> None:
    """End the whole run now, naming the missing service (exit status 3)."""
    pytest.exit(f"test services: {message}", returncode=3)


def check_postgres() -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        fail("PostgreSQL is required: set DATABASE_URL=postgres://… (make test does).")
    try:
        psycopg2.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as exc:
        fail(f"PostgreSQL is unreachable at {db['HOST']}:{db['PORT']}: {exc}".strip())


def check_rabbitmq() -> None:
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("amqp"):
        fail(f"RabbitMQ is required: set CELERY_BROKER_URL=amqp://… (got {broker!r}).")
    try:
        with Connection(broker, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        fail(f"RabbitMQ is unreachable at {broker}: {exc}")
    if shutil.which("rabbitmqctl") is None:
        fail("rabbitmqctl is needed to create the test run's own RabbitMQ vhost.")


def check_redis() -> None:
    # Unset, it would name the embedded Redis, which only `make run` starts.
    if not os.environ.get("REDIS_URL"):
        fail("Redis is required: set REDIS_URL=redis://… (make test does).")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        fail(f"Redis is unreachable at {settings.REDIS_URL}: {exc}")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def add_vhost() -> tuple[str, str]:
    """Create a fresh vhost for this run; return its name and the broker URL naming it."""
    parts = urlsplit(settings.CELERY_BROKER_URL)
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
    return vhost, urlunsplit(parts._replace(path=f"/{vhost}"))
