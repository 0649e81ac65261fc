"""The test run itself: pure tests need no service; a missing service stops the run at once."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import ROOT, project_env

# A closed port on loopback: every connection to it is refused at once.
NOWHERE = "127.0.0.1:9"
NO_SERVICES = {
    "DATABASE_URL": f"postgres://nobody@{NOWHERE}/none",
    "CELERY_BROKER_URL": f"amqp://nobody:nobody@{NOWHERE}//",
    "REDIS_URL": f"redis://{NOWHERE}/0",
}


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=project_env(**NO_SERVICES),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pure_tests_pass_with_every_service_unreachable():
    done = _pytest(
        "-m", "pure", "tests/outings/test_tweet_text.py", "tests/outings/test_sending.py"
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
    assert " deselected" in done.stdout, "the database tests of those files were selected"


def test_a_test_needing_redis_stops_the_run_naming_redis():
    done = _pytest("tests/tasking/test_locks.py::test_only_one_holder_at_a_time")

    assert done.returncode == 3, done.stdout + done.stderr
    assert "test services: Redis is unreachable at redis://127.0.0.1:9/0" in done.stdout


def test_a_test_needing_the_database_stops_the_run_naming_postgresql():
    done = _pytest("tests/accounts/test_groups.py")

    assert done.returncode == 3, done.stdout + done.stderr
    assert "test services: PostgreSQL is unreachable at 127.0.0.1:9" in done.stdout
    assert " passed" not in done.stdout
