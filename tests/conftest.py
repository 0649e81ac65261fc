"""Shared fixtures: real services, an isolated RabbitMQ vhost, and a real Celery worker.

Services are checked by the session fixtures that need them, so a test that requests
none (a *pure* test, marked ``pure`` at collection) runs with no server at all. A test
run that needs a missing service stops at once, naming it.

Every test run that uses RabbitMQ gets its own vhost, so no stray worker on the machine
can take its tasks, and its own PostgreSQL test database (pytest-django's ``test_<name>``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping for start_worker
import pytest
from celery.app.routes import Router, prepare
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from project.celery import app
from tests import tasks  # noqa: F401 - registers the test tasks on the app
from tests.support import services as checks
from tests.support.publishing import Published, recording


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not checks.needs_services(item):
            item.add_marker(pytest.mark.pure)


@pytest.fixture(scope="session")
def redis_server() -> None:
    """The run's Redis (REDIS_URL); ends the run at once if it is unreachable."""
    checks.check_redis()


@pytest.fixture
def run(redis_server: None) -> Iterator[str]:
    """A unique Redis key for what one test's tasks record; deleted afterwards."""
    from tasking.connections import redis_client

    name = f"tests:{uuid.uuid4().hex}"
    client = redis_client(settings.REDIS_URL)
    yield name
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """The run's PostgreSQL server (DATABASE_URL); ends the run at once if unreachable."""
    checks.check_postgres()


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """A fresh RabbitMQ vhost of this run's own, which the app and subprocesses use."""
    checks.check_rabbitmq()
    vhost, url = checks.add_vhost()
    saved = os.environ.get("CELERY_BROKER_URL"), settings.CELERY_BROKER_URL
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    yield url
    if saved[0] is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = saved[0]
    settings.CELERY_BROKER_URL = app.conf.broker_url = saved[1]
    checks.rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def services(postgres_server: None, rabbitmq_vhost: str, redis_server: None) -> None:
    """Every service `make test` provides; tests with a database get them all."""


@pytest.fixture(scope="session")
def django_db_setup(services: None, django_db_setup: None) -> None:
    """pytest-django's test database, created only once the services are known to be up."""


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


@pytest.fixture
def images_queue(monkeypatch) -> str:
    """Route posts' tasks to a queue of this test's own, so only its worker takes them."""
    queue = f"images-{uuid.uuid4().hex[:8]}"
    routes = {**app.conf.task_routes, "posts.*": {"queue": queue}}
    monkeypatch.setattr(app.amqp, "router", Router(prepare(routes), app.amqp.queues, True, app=app))
    return queue


@pytest.fixture
def published() -> Iterator[list[Published]]:
    """Every task message published during the test (tests/support/publishing.py)."""
    with recording() as seen:
        yield seen
