"""What a RabbitMQ vhost holds, asked of rabbitmqctl."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import urlsplit

from django.conf import settings


def _vhost() -> str:
    return urlsplit(settings.CELERY_BROKER_URL).path[1:] or "/"


def broker_queues(vhost: str | None = None) -> dict[str, dict]:
    """Ask rabbitmqctl for a vhost's queues (the test run's by default), types and arguments."""
    out = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            vhost or _vhost(),
            "name",
            "type",
            "arguments",
            "--formatter",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    # Arguments come as [name, type, value] triples.
    return {
        row["name"]: {**row, "arguments": {name: value for name, _, value in row["arguments"]}}
        for row in json.loads(out)
    }
