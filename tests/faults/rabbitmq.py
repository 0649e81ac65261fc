"""RabbitMQ nodes of the fault suite's own, so restarting them never disturbs the machine's.

``OwnRabbitMQ`` is one node; ``OwnRabbitCluster`` joins three into a cluster with
``rabbitmqctl join_cluster``. Every node runs as the rabbitmq user, so all share that
user's Erlang cookie, and registers with the machine's epmd under a name of its own.
"""

from __future__ import annotations

import json
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

    def __init__(self, name: str | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="faults-rabbitmq-"))
        self.node = f"{name or f'faults-{uuid.uuid4().hex[:8]}'}@localhost"
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

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """Run ``rabbitmqctl`` against this node; return its output, raise if it fails."""
        done = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)} on {self.node}: {done.stderr}")
        return done.stdout

    def wait_for_port(self, timeout: float = 90) -> None:
        wait_until(
            succeeds(
                lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close(),
                OSError,
            ),
            timeout=timeout,
            interval=0.2,
            what=f"{self.node} to accept connections",
        )

    def join(self, seed: OwnRabbitMQ) -> None:
        """Make this node a member of ``seed``'s cluster (its own data is reset)."""
        self.ctl("stop_app")
        self.ctl("reset")
        self.ctl("join_cluster", seed.node)
        self.ctl("start_app")
        self.wait_for_port()

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


class OwnRabbitCluster:
    """Three private RabbitMQ nodes joined in one cluster; clients get the URL list."""

    def __init__(self, size: int = 3) -> None:
        prefix = f"faults-{uuid.uuid4().hex[:6]}"
        self.nodes = [OwnRabbitMQ(f"{prefix}-{n}") for n in range(1, size + 1)]
        # Every node in turn: kombu fails over round-robin, as production's list does.
        self.url = ";".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes[1:]:
            node.join(self.nodes[0])
        status = self.nodes[0].ctl("cluster_status", "--formatter", "json")
        running = json.loads(status)["running_nodes"]
        assert sorted(running) == sorted(n.node for n in self.nodes), status

    def node_named(self, name: str) -> OwnRabbitMQ:
        return next(node for node in self.nodes if node.node == name)

    def running(self) -> list[OwnRabbitMQ]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def leader_of(self, queue: str, vhost: str = "/") -> OwnRabbitMQ:
        """Return the node that leads quorum queue ``queue``."""
        out = self.running()[0].ctl(
            "list_queues", "-p", vhost, "name", "leader", "--formatter", "json"
        )
        leaders = {row["name"]: row["leader"] for row in json.loads(out)}
        return self.node_named(leaders[queue])

    def remove(self) -> None:
        for node in reversed(self.nodes):
            node.remove()
