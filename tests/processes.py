"""Start real project processes (workers, web) as subprocesses for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import Request, urlopen

from operations.embedded import EmbeddedRedis
from tests.support.waiting import succeeds, wait_for_start

ROOT = Path(__file__).resolve().parent.parent
# Production variables that must not leak into an "embedded default" subprocess.
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")


def project_env(**overrides: str | None) -> dict[str, str]:
    """The current environment with overrides; a None value removes the variable."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run a manage.py command to completion and return its output; raise if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def worker_process(
    env: dict[str, str],
    *,
    args: tuple[str, ...] = (),
    ready_timeout: float = 60,
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Run ``bin/worker --include tests.tasks`` and yield its node name once it is ready.

    ``cwd`` elsewhere than the project (a host of its own) needs PYTHONPATH in ``env``.
    Readiness is read from the worker's own log line, which works on every broker
    (a remote-control ping would go through this process's app and its broker).
    """
    name = f"test-{uuid.uuid4().hex[:8]}"
    node = f"{name}@{socket.gethostname()}"
    log = tempfile.NamedTemporaryFile("w+", prefix=f"{name}-", suffix=".log")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(ROOT / "bin" / "worker"), "--include", "tests.tasks", *args],
        cwd=cwd,
        env={**env, "WORKER_NAME": name},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_start(
            proc,
            lambda: f"{node} ready." in Path(log.name).read_text(),
            name=f"worker {node}",
            timeout=ready_timeout,
            log=Path(log.name).read_text,
        )
        yield node
    finally:
        _stop(proc)
        log.close()


@contextmanager
def web_process(env: dict[str, str], timeout: float = 60, *, cwd: Path = ROOT) -> Iterator[str]:
    """Run ``gunicorn project.wsgi`` (as the Procfile does) and yield its base URL.

    ``cwd`` elsewhere than the project (a host of its own) needs PYTHONPATH in ``env``.
    """
    port = free_port()
    env = {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            # gunicorn looks for its settings in the cwd only.
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "project.wsgi",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    # Through a TLS-terminating proxy, as production runs it: with DEBUG=0 a plain-HTTP
    # request is redirected to https://, which nothing serves here.
    home = Request(f"{base}/", headers={"X-Forwarded-Proto": "https"})  # noqa: S310

    def answer() -> None:
        with urlopen(home, timeout=2):  # noqa: S310 - local test server
            pass

    try:
        wait_for_start(proc, succeeds(answer, OSError), name="gunicorn", timeout=timeout)
        yield base
    finally:
        _stop(proc)


@contextmanager
def beat_process(env: dict[str, str], *, ready_timeout: float = 60) -> Iterator[None]:
    """Run ``celery -A project beat`` (as the Procfile does) until it has started."""
    log = tempfile.NamedTemporaryFile("w+", prefix="beat-", suffix=".log")  # noqa: SIM115
    schedule = Path(tempfile.mkdtemp(prefix="beat-")) / "schedule"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "project",
            "beat",
            "--loglevel",
            "DEBUG",
            "--schedule",
            str(schedule),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_start(
            proc,
            # Logged once the schedule is loaded, after beat_init has fired.
            lambda: "beat: Starting..." in Path(log.name).read_text(),
            name="beat",
            timeout=ready_timeout,
            log=Path(log.name).read_text,
        )
        yield
    finally:
        _stop(proc)
        log.close()


# Lets a test read /healthz's details, which anonymous callers don't get.
HEALTHZ_TOKEN = "embedded-test-token"


def embedded_env(data_dir: Path, **overrides: str | None) -> dict[str, str]:
    """Environment of the embedded default: no production service, data under ``data_dir``."""
    return project_env(
        DATA_DIR=str(data_dir),
        METRICS_TOKEN=HEALTHZ_TOKEN,
        **{name: None for name in SERVICE_VARIABLES},
        **overrides,
    )


def healthz_request(base: str) -> Request:
    """A request for ``base``/healthz with its details (the embedded stacks' token)."""
    url = f"{base}/healthz"
    return Request(url, headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"})  # noqa: S310 - local


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[EmbeddedRedis]:
    """Run the embedded Redis of DATA_DIR ``data_dir`` (as `make run` does) until the block ends."""
    server = EmbeddedRedis(data_dir / "redis" / "redis.sock")
    server.start()
    try:
        yield server
    finally:
        server.stop()
