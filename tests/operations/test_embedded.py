"""The embedded default under real processes: no PostgreSQL, RabbitMQ or machine Redis.

Every process here runs with DATABASE_URL, CELERY_BROKER_URL and REDIS_URL unset, so it
uses SQLite and the embedded Redis under a temporary DATA_DIR, as `make run` does.
``tests.count_run`` counts each run of each message in the embedded Redis; a missing
count is a lost message, a count above one a message run twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, Request, build_opener, urlopen

import psutil
import pytest
import redis

from operations.embedded import EmbeddedRedis
from tests.factories import phone_jpeg
from tests.processes import (
    ROOT,
    embedded_env,
    embedded_redis,
    free_port,
    healthz_request,
    manage,
    web_process,
    worker_process,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.embedded

# The broker's database on the embedded Redis (the settings' virtual_host=1).
BROKER_DB = 1


class Embedded:
    """One DATA_DIR of the embedded default, and what its processes recorded."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = embedded_env(data_dir)
        self.server = EmbeddedRedis(data_dir / "redis" / "redis.sock")

    def client(self, db: int = 0) -> redis.Redis:
        return self.server.client(db)

    def runs(self, run: str) -> dict[int, int]:
        """How many times each message of ``run`` ran to its end, by sequence number."""
        return self._counts(f"{run}:runs")

    def starts(self, run: str) -> dict[int, int]:
        """How many times each message of ``run`` started, by sequence number."""
        return self._counts(f"{run}:starts")

    def _counts(self, key: str) -> dict[int, int]:
        return {int(k): int(v) for k, v in self.client().hgetall(key).items()}

    def settled(self) -> bool:
        """Whether no message waits in the default queue and none is being worked on."""
        broker = self.client(BROKER_DB)
        return broker.llen("default") == 0 and broker.hlen("unacked") == 0

    def publish(
        self, run: str, first: int, count: int, *, pause: float = 0.0, go: Path | None = None
    ) -> subprocess.Popen:
        """Start a process publishing ``count`` messages; it prints "ready" first."""
        return subprocess.Popen(
            [
                sys.executable, "-m", "tests.operations.embedded_publisher",
                run, str(first), str(count), "--pause", str(pause),
                *(("--go", str(go)) if go else ()),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite database of the embedded default, copied by each test."""
    folder = tmp_path_factory.mktemp("embedded-template")
    manage("migrate", "--noinput", env=embedded_env(folder), timeout=300)
    return folder / "db.sqlite3"


@pytest.fixture
def embedded_data(tmp_path: Path, migrated_sqlite: Path) -> Embedded:
    """A DATA_DIR with a migrated database; its Redis not started."""
    shutil.copy(migrated_sqlite, tmp_path / "db.sqlite3")
    return Embedded(tmp_path)


@pytest.fixture
def embedded(embedded_data: Embedded) -> Iterator[Embedded]:
    """A DATA_DIR with a migrated database and its Redis running."""
    with embedded_redis(embedded_data.data_dir):
        yield embedded_data


def finished(process: subprocess.Popen, timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exit code {process.returncode}:\n{out}\n{err}"
    return out


def test_a_burst_from_four_publishers_runs_every_message_exactly_once(embedded, tmp_path):
    run, go, pidfile = "burst", tmp_path / "go", tmp_path / "worker.pid"

    with worker_process(embedded.env, args=("--concurrency", "2", "--pidfile", str(pidfile))):
        publishers = [embedded.publish(run, n * 250, 250, go=go) for n in range(4)]
        for publisher in publishers:
            assert publisher.stdout.readline().strip() == "ready"
        go.touch()
        for publisher in publishers:
            assert "published 250" in finished(publisher)
        wait_until(
            lambda: len(embedded.runs(run)) == 1000 and embedded.settled(),
            timeout=180,
            what="all 1,000 messages to run and the queue to drain",
        )
        assert psutil.pid_exists(int(pidfile.read_text())), "the worker exited"
        runs = embedded.runs(run)

    assert runs == dict.fromkeys(range(1000), 1)


def test_a_new_worker_runs_every_message_of_a_sigkilled_worker(embedded, tmp_path):
    run, pidfile, messages = "killed", tmp_path / "worker.pid", 20
    finished(embedded.publish(run, 0, messages, pause=1.0))

    with worker_process(embedded.env, args=("--concurrency", "2", "--pidfile", str(pidfile))):
        wait_until(lambda: embedded.starts(run), timeout=60, what="a task to start")
        main = psutil.Process(int(pidfile.read_text()))
        pool = main.children()
        main.kill()
        # Prefork children get SIGKILL when the main process dies (PR_SET_PDEATHSIG).
        _, alive = psutil.wait_procs(pool, timeout=30)
        assert not alive, "the pool outlived its main process"
    ran_before = embedded.runs(run)
    assert len(ran_before) < messages, "every message ran before the kill"
    # The running task and the prefetched ones wait as unacknowledged for a visibility
    # timeout of two hours: only the new worker's restore at start brings them back.
    assert embedded.client(BROKER_DB).hlen("unacked") > 0

    with worker_process(embedded.env, args=("--concurrency", "2")):
        wait_until(
            lambda: len(embedded.runs(run)) == messages and embedded.settled(),
            timeout=120,
            what="every message to run on the new worker",
        )
    runs = embedded.runs(run)

    assert set(runs) == set(range(messages))
    # Only a message whose run ended between its effect and its ack may run twice.
    assert sum(runs.values()) - messages <= 2, runs


def test_a_second_worker_leaves_the_running_workers_messages_alone(embedded):
    run = "two-workers"
    finished(embedded.publish(run, 0, 1, pause=15))

    with worker_process(embedded.env, args=("--concurrency", "1")):
        wait_until(lambda: embedded.starts(run), timeout=60, what="the long task to start")
        # This worker finds the first alive: putting its message back would have this
        # one start it again at once, while the first still runs it.
        with worker_process(embedded.env, args=("--concurrency", "1")):
            wait_until(lambda: embedded.runs(run), timeout=60, what="the long task to end")
            starts, runs = embedded.starts(run), embedded.runs(run)

    assert starts == {0: 1}
    assert runs == {0: 1}


def test_messages_published_before_the_embedded_redis_is_killed_are_kept(embedded_data):
    run, messages = "server-killed", 100
    with embedded_redis(embedded_data.data_dir) as server:
        finished(embedded_data.publish(run, 0, messages))
        # No fsync yet, maybe: what a killed server keeps is what it wrote to its file.
        server.process.kill()
        server.process.wait()

    with embedded_redis(embedded_data.data_dir):
        assert embedded_data.client(BROKER_DB).llen("default") == messages


class Stack:
    """`make run`'s stack in a process group of its own, stopped as Ctrl-C stops it."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.port = free_port()
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "WEB_BIND": f"127.0.0.1:{self.port}"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 120) -> None:
        wait_until(
            lambda: text in self.output or self.process.poll() is not None,
            timeout=timeout,
            what=f"{text!r} in the stack's output",
        )
        assert text in self.output, f"the stack exited:\n{self.output}"

    def healthz(self) -> tuple[int, dict] | None:
        try:
            request = healthz_request(f"http://127.0.0.1:{self.port}")
            with urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
                return response.status, json.load(response)
        except HTTPError as error:  # 503 while a part is still starting
            return error.code, json.load(error)
        except (URLError, OSError):
            return None

    def interrupt(self, timeout: float = 90) -> None:
        """Send SIGINT to the stack's process group, as a Ctrl-C in its terminal does."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            # honcho and each Procfile process lead groups of their own: a test that
            # failed before its Ctrl-C would leave them running.
            descendants = psutil.Process(self.process.pid).children(recursive=True)
            os.killpg(self.process.pid, signal.SIGKILL)
            for process in descendants:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            self.process.wait()


@pytest.fixture
def stacks(embedded_data) -> Iterator[Callable[[list[str], str], Stack]]:
    """Start stacks on ``embedded_data``; any left running at the end are killed."""
    started: list[Stack] = []

    def start(command: list[str], name: str) -> Stack:
        stack = Stack(command, embedded_data.env, embedded_data.data_dir / f"{name}.log")
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.kill()
    # A stack killed before it stopped its Redis leaves the server behind.
    pidfile = embedded_data.data_dir / "redis" / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


def test_make_run_starts_the_embedded_redis_first_and_stops_it_last(stacks, embedded_data):
    stack = stacks(["make", "run"], "make-run")

    # The promise: healthy within 60 s of the install finishing (here a no-op).
    wait_until(
        lambda: (stack.healthz() or (0,))[0] == 200 or stack.process.poll() is not None,
        timeout=60,
        what="make run to report healthy",
    )
    status, body = stack.healthz()
    stack.interrupt()
    output = stack.output

    assert status == 200, f"{body}\n{output}"
    # WEB_BIND (a free port here) is where the stack listens and what it says to open.
    assert f"Open http://127.0.0.1:{stack.port}/ " in output, output
    assert body["checks"]["broker"]["detail"].startswith("embedded Redis"), body
    assert output.index("embedded Redis 6.2") < output.index("web.1 started")
    shutdown = output[output.index("SIGINT received") :]
    for name in ("web", "worker", "beat"):
        assert shutdown.index(f"{name}.1 stopped") < shutdown.index("embedded Redis stopped")
    errors = [
        line for line in shutdown.splitlines() if re.search(r"ERROR|CRITICAL|Traceback", line)
    ]
    assert not errors, shutdown
    # Every process stopped on the SIGTERM within honcho's grace period (KILL_WAIT).
    assert "sending SIGKILL" not in shutdown, shutdown
    assert not embedded_data.server.socket.exists(), "the server is still running"
    log = (embedded_data.data_dir / "redis" / "redis.log").read_text()
    assert "ready to exit" in log


def test_a_stack_stopped_with_100_messages_queued_runs_them_all_when_started_again(
    stacks, embedded_data, tmp_path
):
    run, messages = "restart", 100
    # The Procfile's commands, with the test tasks loaded by the worker.
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        (ROOT / "Procfile").read_text().replace("bin/worker", "bin/worker --include tests.tasks")
    )
    command = [
        sys.executable, "manage.py", "with_embedded_redis",
        "honcho", "-f", str(procfile), "start",
    ]  # fmt: skip

    first = stacks(command, "first")
    first.wait_for_line(" ready.")
    finished(embedded_data.publish(run, 0, messages, pause=0.3))
    wait_until(lambda: embedded_data.starts(run), timeout=60, what="the first task to start")
    first.interrupt()
    assert not embedded_data.server.socket.exists(), "the server is still running"

    with embedded_redis(embedded_data.data_dir):
        ran_before = embedded_data.runs(run)
        broker = embedded_data.client(BROKER_DB)
        waiting = broker.llen("default") + broker.hlen("unacked")
    assert len(ran_before) < messages // 2, "most messages ran before the stop"
    assert waiting >= messages - len(ran_before), "messages were lost at the stop"

    second = stacks(command, "second")
    second.wait_for_line(" ready.")
    wait_until(
        lambda: len(embedded_data.runs(run)) == messages and embedded_data.settled(),
        timeout=120,
        what="every message to run after the restart",
    )
    runs = embedded_data.runs(run)
    second.interrupt()

    assert set(runs) == set(range(messages))
    # A task finishing as honcho's SIGKILL lands (5 s after SIGTERM) may run again.
    assert sum(runs.values()) - messages <= 2, runs


PASSWORD = "a-long-test-password"


def sign_in(opener: OpenerDirector, base: str, username: str) -> None:
    with opener.open(f"{base}/accounts/login/", timeout=30) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
    body = urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD}
    ).encode()
    with opener.open(f"{base}/accounts/login/", data=body, timeout=30) as page:
        assert "/accounts/login/" not in page.geturl(), "the sign-in failed"


def upload(opener: OpenerDirector, base: str, token: str, image: bytes, caption: str) -> int:
    """POST one image through the upload form; return the new post's id."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'.encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="caption"\r\n\r\n{caption}\r\n'.encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; name="
            f'"image"; filename="{caption}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode(),
            image,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    request = Request(  # noqa: S310 - the test's own server
        f"{base}/posts/new/",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with opener.open(request, timeout=120) as page:
        landed = page.geturl()
    match = re.search(r"/posts/(\d+)/$", landed)
    assert match, f"the upload landed on {landed}"
    return int(match.group(1))


def test_fifty_uploads_posted_at_once_through_the_web_all_become_ready(embedded):
    manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('poster', password='{PASSWORD}')",
        env=embedded.env,
    )
    opener = build_opener(HTTPCookieProcessor(CookieJar()))
    image = phone_jpeg((1200, 900))

    with worker_process(embedded.env), web_process(embedded.env) as base:
        sign_in(opener, base, "poster")
        with opener.open(f"{base}/posts/new/", timeout=30) as page:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
        with ThreadPoolExecutor(max_workers=50) as pool:
            ids = list(
                pool.map(
                    lambda n: upload(opener, base, token.group(1), image, f"upload-{n}"),
                    range(50),
                )
            )

        def states() -> dict[int, str]:
            return {
                post: json.load(opener.open(f"{base}/posts/{post}/status/", timeout=30))["state"]
                for post in ids
            }

        wait_until(
            lambda: set(states().values()) <= {"ready", "failed"},
            timeout=180,
            what="every upload to be processed",
        )
        final = states()

    assert len(set(ids)) == 50
    assert final == dict.fromkeys(ids, "ready")
