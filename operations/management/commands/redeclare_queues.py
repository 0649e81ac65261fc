"""Declare the project's queues as the settings say, moving messages if a type changed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from project.celery import app
from tasking import queues


class Command(BaseCommand):
    help = (
        "Declare every project queue with CELERY_QUEUE_TYPE and CELERY_DELIVERY_LIMIT. A "
        "queue that exists with another type is emptied into a holding queue, declared "
        "anew and refilled: no message is lost. Stop the workers and the web first."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.BROKER_SCHEME.startswith(("amqp", "pyamqp")):
            raise CommandError(
                f"Queue types exist only on RabbitMQ; the broker is {settings.BROKER_SCHEME}://."
            )
        wanted = list(app.amqp.queues.values())
        if queues.uses_dead_letters(wanted):
            wanted.append(queues.dead_queue())
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=3)
            moved = queues.redeclare(connection, wanted, log=self.stdout.write)
        total = sum(moved.values())
        self.stdout.write(self.style.SUCCESS(f"{len(wanted)} queues as configured; {total} moved."))
