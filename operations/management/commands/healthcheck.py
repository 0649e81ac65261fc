"""Exit non-zero unless the named /healthz checks pass (for container health checks)."""

from __future__ import annotations

import json
from typing import Any

from celery import current_app as app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import health


class Command(BaseCommand):
    help = "Run the /healthz checks and fail unless the named ones (default: all) pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "checks", nargs="*", help="database, broker, workers, queues, beat (default: all)"
        )

    def handle(self, *args: Any, checks: list[str], **options: Any) -> None:
        body = health.report(
            app,
            worker_timeout=settings.HEALTHZ_WORKER_TIMEOUT,
            beat_max_age=settings.HEALTHZ_BEAT_MAX_AGE,
        )
        unknown = set(checks) - set(body["checks"])
        if unknown:
            raise CommandError(f"unknown check(s): {', '.join(sorted(unknown))}")
        wanted = checks or list(body["checks"])
        failing = [name for name in wanted if not body["checks"][name]["ok"]]
        self.stdout.write(json.dumps({name: body["checks"][name] for name in wanted}))
        if failing:
            raise CommandError(f"failing: {', '.join(failing)}")
