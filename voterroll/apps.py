from django.apps import AppConfig


class VoterrollConfig(AppConfig):
    name = "voterroll"
    verbose_name = "Voter rolls"

    def ready(self) -> None:
        from operations import progress
        from voterroll import dashboard

        progress.register(dashboard.running_generations)
