from django.apps import AppConfig
from django.conf import settings


class TaskingConfig(AppConfig):
    name = "tasking"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from tasking import (
            checks,  # noqa: F401 - registers the system checks
            connections,
            embedded,
            generators,
            health,
            metrics,
            progress,
            shutdown,
        )
        from tasking import logging as task_logging

        task_logging.install_record_factory()
        progress.register(generators.running_jobs)
        health.connect_beat_heartbeat()
        connections.connect()
        embedded.connect()
        shutdown.connect()
        if settings.METRICS_ENABLED:
            metrics.connect()
