"""Create what every storage needs: its bucket on object storage, its folder locally."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from filestore.storages import MEDIA, ROLLS, UPLOADS, named


class Command(BaseCommand):
    help = "Create the buckets (object storage) or folders (local) of every storage."

    def handle(self, *args, **options) -> None:
        for alias in (MEDIA, UPLOADS, ROLLS):
            done = named(alias).prepare()
            self.stdout.write(f"{alias}: {done}")
