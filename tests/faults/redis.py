"""A Redis server of the fault suite's own, so the suite's keys never touch the machine's."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import redis

from tests.processes import free_port
from tests.support.waiting import succeeds, wait_for_start


class OwnRedis:
    """``redis-server`` on a free port with no persistence, its folder deleted at the end."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="faults-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "", "--appendonly", "no",
            ],
            stdout=log,
            stderr=log,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            wait_for_start(
                self.process,
                succeeds(client.ping, redis.ConnectionError),
                name="redis-server",
                timeout=timeout,
                log=(self.folder / "server.log").read_text,
                interval=0.1,
            )
        finally:
            client.close()

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
