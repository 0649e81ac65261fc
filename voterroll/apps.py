from django.apps import AppConfig


class VoterrollConfig(AppConfig):
    name = "voterroll"
    verbose_name = "Voter rolls"

    def ready(self) -> None:
        from tasking import progress
        from voterroll import (
            checks,  # noqa: F401 - registers the system checks
            rolls,
        )

        progress.register(rolls.running_generations)
