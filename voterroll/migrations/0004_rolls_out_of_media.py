"""Move roll files out of MEDIA_ROOT/rolls into ROLLS_ROOT, which no URL serves.

Runs' files used to be written under MEDIA_ROOT (served at /media/): every run's folder
moves to ROLLS_ROOT/<run id>, and the stored paths lose their "rolls/" prefix. Safe to
run again: a folder already moved is skipped, a half-moved one is completed.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Substr

PREFIX = "rolls/"
RUN_PATHS = ("output_dir", "metadata_file", "zip_file")
STATION_PATHS = ("book_file", "door_file")


def _move_tree(source: Path, target: Path) -> None:
    """Move every file under ``source`` to the same place under ``target``; drop ``source``."""
    if not source.is_dir() or source.resolve() == target.resolve():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            # A rename on one filesystem; a copy then delete across two.
            shutil.move(path, destination)
    shutil.rmtree(source)


def to_rolls_root(apps, schema_editor):
    _move_tree(Path(settings.MEDIA_ROOT) / "rolls", Path(settings.ROLLS_ROOT))
    for name, fields in (("RollRun", RUN_PATHS), ("Station", STATION_PATHS)):
        model = apps.get_model("voterroll", name)
        for field in fields:
            model.objects.filter(**{f"{field}__startswith": PREFIX}).update(
                **{field: Substr(field, len(PREFIX) + 1)}
            )


def to_media_root(apps, schema_editor):
    _move_tree(Path(settings.ROLLS_ROOT), Path(settings.MEDIA_ROOT) / "rolls")
    for name, fields in (("RollRun", RUN_PATHS), ("Station", STATION_PATHS)):
        model = apps.get_model("voterroll", name)
        for field in fields:
            model.objects.exclude(**{field: ""}).update(**{field: Concat(Value(PREFIX), field)})


class Migration(migrations.Migration):
    dependencies = [("voterroll", "0003_roll_permissions")]

    operations = [migrations.RunPython(to_rolls_root, to_media_root)]
