"""A RabbitMQ vhost of the benchmark's own, so no other worker on the machine takes its tasks."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def own_vhost(broker_url: str) -> Iterator[str]:
    """Create a fresh vhost, export CELERY_BROKER_URL pointing at it, delete it afterwards."""
    parts = urlsplit(broker_url)
    vhost = f"bench-{uuid.uuid4().hex[:12]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "set_permissions",
            "-p",
            vhost,
            parts.username or "guest",
            ".*",
            ".*",
            ".*",
        ],
        check=True,
        capture_output=True,
    )
    url = urlunsplit(parts._replace(path=f"/{vhost}"))
    os.environ["CELERY_BROKER_URL"] = url
    try:
        yield url
    finally:
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True
        )
