"""A PostgreSQL server of the fault suite's own, so stopping it never disturbs the machine's."""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2

from tests.processes import free_port
from tests.support.waiting import wait_until


def _binaries() -> Path:
    """The newest PostgreSQL install's bin folder (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise AssertionError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1])


class OwnPostgres:
    """A second PostgreSQL cluster on a free port, with its data in a temporary folder.

    initdb and pg_ctl refuse to run as root, so they run as the ``postgres`` user, who
    owns the folder. Authentication is ``trust`` on 127.0.0.1 only.
    """

    user = "postgres"

    def __init__(self) -> None:
        self.bin = _binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="faults-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        shutil.chown(self.folder, user=self.user)

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            ["runuser", "-u", self.user, "--", *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}{log}")
        return done.stdout

    def start(self) -> None:
        """Create the cluster on first use, then start it and wait until it accepts queries."""
        if not self.data.exists():
            self._as_postgres(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                "--auth=trust", "--encoding=UTF8", "--no-sync",
            )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.log), "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (fast mode: sessions are disconnected), as in an outage."""
        if (self.data / "postmaster.pid").exists():
            pg_ctl = str(self.bin / "pg_ctl")
            self._as_postgres(pg_ctl, "stop", "-w", "-m", "fast", "-D", str(self.data))

    def _execute(self, sql: str) -> None:
        conn = psycopg2.connect(self.url("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def create_database(self, name: str, *, template: str = "template1") -> None:
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop_database(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def accepts_connections(self) -> bool:
        try:
            psycopg2.connect(self.url("postgres"), connect_timeout=1).close()
        except psycopg2.OperationalError:
            return False
        return True

    def remove(self) -> None:
        """Stop the server and delete its data."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def wait_until_up(server: OwnPostgres, timeout: float = 30) -> None:
    wait_until(
        server.accepts_connections,
        timeout=timeout,
        interval=0.1,
        what=f"PostgreSQL on port {server.port} to come back",
    )
