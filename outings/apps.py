from django.apps import AppConfig
from django.db.models.signals import post_save


class OutingsConfig(AppConfig):
    name = "outings"

    def ready(self) -> None:
        from outings import checks  # noqa: F401 - registers the system checks
        from outings.models import Outing
        from outings.receivers import announce_new_outing

        post_save.connect(announce_new_outing, sender=Outing, dispatch_uid="outings.announce")
