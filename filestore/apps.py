from django.apps import AppConfig


class FilestoreConfig(AppConfig):
    name = "filestore"
    verbose_name = "File storage"

    def ready(self) -> None:
        from filestore import checks, storages  # noqa: F401 - registers checks and receivers
