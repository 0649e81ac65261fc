from django.apps import AppConfig


class TaskingConfig(AppConfig):
    name = "tasking"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from tasking import logging as task_logging

        task_logging.install_record_factory()
