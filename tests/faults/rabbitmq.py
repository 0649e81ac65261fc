"""A RabbitMQ node of the fault suite's own, so restarting it never disturbs the machine's."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.processes import free_port
from tests.support.waiting import succeeds, wait_for_start, wait_until


class OwnRabbitMQ:
    """A second RabbitMQ node on free ports, with its data and logs in a temporary folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="faults-rabbitmq-"))
        self.node = f"faults-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        for name in ("mnesia", "log"):
            (self.folder / name).mkdir()
        # Empty files, so the machine's config (its listeners, its plugins) is not reused.
        for name in ("enabled_plugins", "rabbitmq.conf"):
            (self.folder / name).touch()
        (self.folder / "advanced.config").write_text("[].\n")
        # rabbitmq-server drops to the rabbitmq user, which must write the data folder.
        shutil.chown(self.folder, user="rabbitmq")
        for path in self.folder.rglob("*"):
            shutil.chown(path, user="rabbitmq")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        """Start the node (keeping its data across restarts) and wait for its AMQP port."""
        log = (self.folder / "server.out").open("ab")
        self.process = subprocess.Popen(
            ["rabbitmq-server"], cwd=self.folder, env=self.env, stdout=log, stderr=log
        )
        wait_for_start(
            self.process,
            succeeds(self._connect, OSError),
            name=f"RabbitMQ node {self.node}",
            timeout=timeout,
            log=lambda: (self.folder / "server.out").read_text()[-3000:],
        )

    def _connect(self) -> None:
        socket.create_connection(("127.0.0.1", self.port), timeout=1).close()

    def stop(self, timeout: float = 60) -> None:
        """Stop the node the way an operator would; kill it only if that fails."""
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, "stop"],
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self, timeout: float = 60) -> None:
        """SIGKILL the node's Erlang VM: no clean shutdown, no flushing, as a crash would."""
        if self.process is None or self.process.poll() is not None:
            return
        pid_file = self.folder / "pid"
        wait_until(
            lambda: pid_file.exists() and pid_file.read_text().strip(),
            timeout=timeout,
            interval=0.1,
            what=f"RabbitMQ node {self.node} to write its pid file",
        )
        os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        self.process.wait(timeout)

    def remove(self) -> None:
        """Stop the node and delete its data."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
