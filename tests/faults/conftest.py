"""The fault suite's harness: its own RabbitMQ, Redis and PostgreSQL, workers, the table.

RabbitMQ and Redis of the suite's own serve every scenario (``faults_env``; in this
process ``settings.REDIS_URL`` points at the suite's Redis during each scenario).
PostgreSQL of its own serves the scenarios that stop the database (``own_database``);
the others share pytest's test database on the machine's server.

Every scenario adds one row with ``fault_row``; at the end of the run the table is
printed and written to bench/results/faults.json.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from kombu import Connection

from project.celery import app
from tasking import markers
from tests.faults.postgres import OwnPostgres
from tests.faults.rabbitmq import OwnRabbitCluster, OwnRabbitMQ
from tests.faults.redis import OwnRedis
from tests.faults.tasks import QUEUE, effects_key
from tests.processes import manage, project_env
from tests.support import roll_runs
from tests.support.faults import write_table
from tests.support.x_api import TOKEN, FakeX
from tests.tasking.tasks import redis

COLUMNS = (
    "scenario",
    "done",
    "expected",
    "lost",
    "duplicated",
    "recovered",
    "recovery_s",
    "verdict",
)
_rows: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def own_rabbitmq() -> Iterator[OwnRabbitMQ]:
    """A RabbitMQ node the scenarios may stop and restart; deleted at the end."""
    node = OwnRabbitMQ()
    try:
        node.start()
        yield node
    finally:
        node.remove()


@pytest.fixture(scope="session")
def own_seaweedfs() -> Iterator[Any]:
    """A SeaweedFS the scenarios may stop and restart (data kept); deleted at the end."""
    from tests.seaweedfs import OwnSeaweedFS

    server = OwnSeaweedFS()
    try:
        server.start()
        server.create_buckets()
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_s3(settings: Any, own_seaweedfs: Any) -> dict[str, str]:
    """This process's storages on the suite's SeaweedFS, under prefixes of the scenario's
    own; returns the variables that put a worker's files there too."""
    from filestore.configuration import from_environment

    test = f"t-{uuid.uuid4().hex[:10]}"
    env = own_seaweedfs.environment(
        media=f"{test}/media", uploads=f"{test}/uploads", rolls=f"{test}/rolls"
    )
    storages, media_url = from_environment(env)
    settings.STORAGES = {**storages, "staticfiles": settings.STORAGES["staticfiles"]}
    settings.MEDIA_URL = media_url
    return env


@pytest.fixture(scope="session")
def own_cluster() -> Iterator[OwnRabbitCluster]:
    """Three RabbitMQ nodes in one cluster the scenarios may kill and stop; deleted at the end."""
    cluster = OwnRabbitCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def cluster(own_cluster: OwnRabbitCluster) -> Iterator[OwnRabbitCluster]:
    """The cluster for one scenario; every node it took down is started again afterwards."""
    yield own_cluster
    for node in own_cluster.nodes:
        if node not in own_cluster.running():
            node.start()


@pytest.fixture(scope="session")
def own_redis() -> Iterator[OwnRedis]:
    """A Redis server for the whole suite; deleted at the end."""
    server = OwnRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(autouse=True)
def _suite_redis(settings: Any, own_redis: OwnRedis) -> None:
    """Locks, run_once markers and effect counts of this process go to the suite's Redis."""
    settings.REDIS_URL = own_redis.url


# Migrated once per session; each scenario's database is a copy of it.
TEMPLATE_DATABASE = "faults_template"


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL server the scenarios may stop, with a migrated template database."""
    server = OwnPostgres()
    try:
        server.start()
        server.create_database(TEMPLATE_DATABASE)
        env = project_env(DATABASE_URL=server.url(TEMPLATE_DATABASE))
        manage("migrate", "--noinput", env=env, timeout=300)
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_database(transactional_db: Any, own_postgres: OwnPostgres) -> Iterator[str]:
    """A fresh database on the suite's PostgreSQL for one scenario; yields its URL.

    This process's ORM uses it during the scenario; workers get the URL as DATABASE_URL.
    """
    name = f"faults_{uuid.uuid4().hex[:12]}"
    own_postgres.create_database(name, template=TEMPLATE_DATABASE)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        NAME=name, HOST="127.0.0.1", PORT=own_postgres.port, USER=own_postgres.user, PASSWORD=""
    )
    try:
        yield own_postgres.url(name)
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        if own_postgres.accepts_connections():
            own_postgres.drop_database(name)


@pytest.fixture
def faults_env(
    subprocess_env: dict[str, str], own_rabbitmq: OwnRabbitMQ, own_redis: OwnRedis
) -> dict[str, str]:
    """Environment for workers on the suite's own node and Redis, consuming only its queue."""
    return _worker_env(subprocess_env, own_rabbitmq.url, own_redis.url)


@pytest.fixture
def cluster_env(
    subprocess_env: dict[str, str], cluster: OwnRabbitCluster, own_redis: OwnRedis
) -> dict[str, str]:
    """Environment for workers and publishers on the cluster's URL list."""
    return _worker_env(subprocess_env, cluster.url, own_redis.url)


def _worker_env(base: dict[str, str], broker_url: str, redis_url: str) -> dict[str, str]:
    """A scenario worker's environment: two processes consuming only the scenario queue."""
    return {
        **base,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": redis_url,
        "WORKER_QUEUES": QUEUE,
        "WORKER_CONCURRENCY": "2",
    }


@pytest.fixture
def run() -> Iterator[str]:
    """A name for this scenario's effects in Redis, deleted afterwards."""
    name = uuid.uuid4().hex[:12]
    yield name
    client = redis()
    client.delete(*(client.keys(f"faults:{name}:*") or [effects_key(name)]))


@pytest.fixture
def publish(own_rabbitmq: OwnRabbitMQ) -> Iterator[Callable[..., Any]]:
    """Publish a task to the suite's queue on its own node; returns the AsyncResult.

    ``options`` go to ``apply_async`` (e.g. a per-message ``soft_time_limit``).
    """
    yield from _publisher(own_rabbitmq.url)


@pytest.fixture
def cluster_publish(cluster: OwnRabbitCluster) -> Iterator[Callable[..., Any]]:
    """Publish a task to the suite's queue on the cluster, failing over along its nodes."""
    yield from _publisher(cluster.url)


def _publisher(url: str) -> Iterator[Callable[..., Any]]:
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        # Declared here as the worker would, so messages sent before any worker starts
        # are queued rather than dropped by an exchange with no queue bound.
        app.amqp.queues[QUEUE](conn.default_channel).declare()
        producer = conn.Producer()
        sent: list[tuple[str, str]] = []

        def send(
            task: Any,
            *args: Any,
            task_id: str | None = None,
            options: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> Any:
            result = task.apply_async(
                args, kwargs, task_id=task_id, queue=QUEUE, producer=producer, **(options or {})
            )
            sent.append((task.name, result.id))
            return result

        yield send
    # run_once keeps a "done" marker per message for days; these runs need none.
    done = [markers.marker_key("done", name, task_id) for name, task_id in sent]
    for start in range(0, len(done), 1000):
        redis().delete(*done[start : start + 1000])


@pytest.fixture
def x_api(httpserver) -> FakeX:
    """The loopback X API the scenario's workers tweet to, with the tweet rate window empty."""
    redis().delete("ratelimit:outings.post_tweet")
    return FakeX(httpserver)


@pytest.fixture
def x_api_env(x_api: FakeX, httpserver) -> dict[str, str]:
    """Worker environment entries that send tweets to ``x_api``."""
    return {
        "TWEET_BACKEND": "outings.twitter.XBackend",
        "X_API_BASE_URL": httpserver.url_for("/"),
        "X_API_BEARER_TOKEN": TOKEN,
    }


@pytest.fixture
def user(django_user_model: Any) -> Any:
    """The account that owns a scenario's outings."""
    return django_user_model.objects.create_user("faults", password="a-long-test-password")


@pytest.fixture
def fault_row() -> Callable[..., dict[str, Any]]:
    """Record one scenario's row: counts of lost and duplicated effects, recovery time."""

    def record(
        *, scenario: str, done: str, expected: int, seen: dict[int, int], recovery_s: float
    ) -> dict[str, Any]:
        lost = expected - len(seen)
        duplicated = sum(seen.values()) - len(seen)
        row = {
            "scenario": scenario,
            "done": done,
            "expected": expected,
            "lost": lost,
            "duplicated": duplicated,
            "recovered": len(seen),
            "recovery_s": round(recovery_s, 1),
            "verdict": "pass" if lost == 0 and duplicated == 0 else "FAIL",
        }
        _rows.append(row)
        return row

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _rows:
        return
    widths = {c: max(len(c), *(len(str(r[c])) for r in _rows)) for c in COLUMNS}
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line("  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for row in _rows:
        terminalreporter.write_line("  ".join(str(row[c]).ljust(widths[c]) for c in COLUMNS))
    terminalreporter.write_line(f"wrote {write_table(_rows)}")


@pytest.fixture
def roll_env(faults_env, tmp_path, settings):
    """Workers consume the pdf queue too and write roll files under this test's folder."""
    return _roll_env(faults_env, tmp_path, settings)


@pytest.fixture
def cluster_roll_env(cluster_env, tmp_path, settings):
    """As roll_env, with the cluster as broker."""
    return _roll_env(cluster_env, tmp_path, settings)


def _roll_env(base: dict[str, str], tmp_path: Any, settings: Any) -> dict[str, str]:
    settings.ROLLS_ROOT = tmp_path / "rolls"
    return {
        **base,
        "WORKER_QUEUES": "faults,pdf",
        "ROLLS_ROOT": str(settings.ROLLS_ROOT),
        "ROLL_STATION_MAX": str(roll_runs.STATION_MAX),
    }
