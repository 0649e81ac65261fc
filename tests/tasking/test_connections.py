"""A prefork worker keeps its database connection between tasks and survives losing it."""

import uuid

from django.db import connection

from tests.processes import worker_process
from tests.tasks import database_backend_pid


def test_a_worker_process_reuses_its_connection_and_reconnects_after_losing_it(
    subprocess_env,
):
    queue = f"connections-{uuid.uuid4().hex[:8]}"
    env = {**subprocess_env, "WORKER_QUEUES": queue}

    def backend_pid() -> int:
        return database_backend_pid.apply_async(queue=queue).get(timeout=30)

    with worker_process(env, args=("--pool", "prefork", "--concurrency", "1")):
        first, second, third = backend_pid(), backend_pid(), backend_pid()
        # As when PostgreSQL restarts or an administrator ends the session.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        after_loss = backend_pid()
        again = backend_pid()

    assert first == second == third
    assert after_loss != first
    assert again == after_loss
