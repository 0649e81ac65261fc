"""Shared fixtures: real services, an isolated RabbitMQ vhost, and a real Celery worker.

Every test run gets its own RabbitMQ vhost, so no stray worker on the machine can take
its tasks, and its own PostgreSQL test database (pytest-django's ``test_<name>``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for start_worker
import psycopg2
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from kombu import Connection

from project.celery import app
from tests import tasks  # noqa: F401 - registers the test tasks on the app

_vhost: str | None = None


def _fail(message: str) -> None:
    pytest.exit(f"test services: {message}", returncode=3)


def _check_services() -> None:
    """Fail the run at once, naming the service, if one is missing."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        _fail("PostgreSQL is required: set DATABASE_URL=postgres://… (make test does).")
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
        _fail(f"PostgreSQL is unreachable at {db['HOST']}:{db['PORT']}: {exc}".strip())

    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("amqp"):
        _fail(f"RabbitMQ is required: set CELERY_BROKER_URL=amqp://… (got {broker!r}).")
    try:
        with Connection(broker, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        _fail(f"RabbitMQ is unreachable at {broker}: {exc}")

    # Unset, it would name the embedded Redis, which only `make run` starts.
    if not os.environ.get("REDIS_URL"):
        _fail("Redis is required: set REDIS_URL=redis://… (make test does).")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        _fail(f"Redis is unreachable at {settings.REDIS_URL}: {exc}")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _isolate_broker() -> None:
    """Point the app (and subprocesses) at a fresh vhost of this run's own."""
    global _vhost
    if shutil.which("rabbitmqctl") is None:
        _fail("rabbitmqctl is needed to create the test run's own RabbitMQ vhost.")
    parts = urlsplit(settings.CELERY_BROKER_URL)
    _vhost = f"test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", _vhost)
    _rabbitmqctl("set_permissions", "-p", _vhost, parts.username or "guest", ".*", ".*", ".*")
    url = urlunsplit(parts._replace(path=f"/{_vhost}"))
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url


def pytest_sessionstart(session: pytest.Session) -> None:
    _check_services()
    _isolate_broker()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _vhost:
        _rabbitmqctl("delete_vhost", _vhost)


@pytest.fixture(scope="session")
def celery_session_worker(django_db_setup, django_db_blocker):
    """One in-process worker for the session, consuming every queue on the test vhost.

    Heartbeats stay on: with the solo pool and prefetch 1 on RabbitMQ, a worker without
    them stalls about 10 s between messages and at shutdown.
    """
    with django_db_blocker.unblock():
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            without_heartbeat=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ) as worker:
            yield worker
        # Worker threads keep their own connections; close them so the test
        # database can be dropped at the end of the session.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def worker(transactional_db, celery_session_worker):
    """A real worker on RabbitMQ for one test; messages the test left behind are purged."""
    yield celery_session_worker
    app.control.purge()


@pytest.fixture
def subprocess_env(transactional_db) -> dict[str, str]:
    """Environment for project subprocesses that share this test's database, vhost and key.

    The signing key is passed on as every host of a deployment gets it: a process with a
    DATA_DIR of its own would otherwise draw a development key of its own.
    """
    from tests.processes import project_env

    db = connection.settings_dict
    return project_env(
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        SECRET_KEY=settings.SECRET_KEY,
    )


@pytest.fixture(scope="session")
def seaweedfs():
    """A SeaweedFS of this run's own (S3 on a free port) with the project's buckets.

    Started on first use and stopped at the end of the run; a run that cannot start it
    fails, naming the problem, rather than skipping the tests that need it.
    """
    from tests.seaweedfs import OwnSeaweedFS

    server = OwnSeaweedFS()
    try:
        server.start()
        server.create_buckets()
    except AssertionError as exc:
        server.remove()
        pytest.fail(f"SeaweedFS: {exc}", pytrace=False)
    yield server
    server.remove()


@pytest.fixture
def s3_env(seaweedfs) -> dict[str, str]:
    """Variables that put a process's files on SeaweedFS, under this test's own prefixes."""
    test = f"t-{uuid.uuid4().hex[:10]}"
    return seaweedfs.environment(
        media=f"{test}/media", uploads=f"{test}/uploads", rolls=f"{test}/rolls"
    )


@pytest.fixture
def on_s3(settings, s3_env) -> dict[str, str]:
    """Switch this process's storages to SeaweedFS; return the variables for subprocesses."""
    from filestore.configuration import from_environment

    storages, media_url = from_environment(s3_env)
    settings.STORAGES = {**storages, "staticfiles": settings.STORAGES["staticfiles"]}
    settings.MEDIA_URL = media_url
    return s3_env


@pytest.fixture
def browser_page():
    """A Playwright page in Debian's Chromium (headless); fails, never skips, if missing."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.console_errors = errors  # type: ignore[attr-defined]
        yield page
        browser.close()
