from django.apps import AppConfig


class VoterrollConfig(AppConfig):
    name = "voterroll"
    verbose_name = "Voter rolls"
