from django.apps import AppConfig


class TaskingConfig(AppConfig):
    name = "tasking"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from tasking import (
            checks,  # noqa: F401 - registers the system checks
            connections,
        )

        connections.connect()
