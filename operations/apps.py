from django.apps import AppConfig
from django.conf import settings


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from operations import embedded, health, metrics, progress, shutdown
        from operations import logging as task_logging
        from tasking import generators

        task_logging.install_record_factory()
        metrics.use_multiprocess_files()
        progress.register(generators.running_jobs)
        health.connect_beat_heartbeat()
        embedded.connect()
        shutdown.connect()
        if settings.METRICS_ENABLED:
            metrics.connect()
