"""Roll files are personal data: only the permission-checked download view hands them out."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from tests.factories import make_staff
from voterroll import drawing, rolls, run_files
from voterroll.models import RollRun, Station

pytestmark = pytest.mark.django_db


def _finished_run() -> RollRun:
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    return rolls.finalize(run.id)


def _file_names(run: RollRun) -> list[str]:
    """Every file of a run: each path its metadata.json lists, metadata.json, the zip."""
    with run_files.storage().open(run.metadata_file) as stored:
        metadata = json.load(stored)
    return [entry["path"] for entry in metadata["files"]] + ["metadata.json", f"roll-{run.id}.zip"]


def test_no_roll_file_answers_200_without_the_download_permission(
    client, seeded, settings, rolls_root, django_user_model
):
    # /media/ is served in the tests' development shape: the worst case for a leak.
    assert settings.SERVE_MEDIA
    run = _finished_run()
    names = _file_names(run)
    downloads = [reverse("voterroll:file", args=[run.id, name]) for name in names]
    guesses = [
        f"{prefix}{name}"
        for name in names
        for prefix in (f"/media/rolls/{run.id}/", f"/media/{run.id}/", "/media/rolls/", "/media/")
    ]
    watcher = make_staff("watcher")
    watcher.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_rollrun", "generate_roll"])
    )
    visitors = {
        "anonymous": None,
        "signed-in user": django_user_model.objects.create_user("someone"),
        "staff without download_roll": watcher,
    }

    leaks = []
    for who, user in visitors.items():
        client.logout()
        if user:
            client.force_login(user)
        leaks += [(who, url) for url in downloads + guesses if client.get(url).status_code == 200]

    assert len(names) > 10
    assert leaks == []
    client.force_login(make_staff("officer", "Roll officers"))
    assert {url: client.get(url).status_code for url in downloads} == dict.fromkeys(downloads, 200)
    # By design, not by URL rule: nothing of the run is under MEDIA_ROOT at all.
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert all((rolls_root / str(run.id) / name).is_file() for name in names)


def test_a_nul_byte_or_an_impossible_name_is_not_found(client, seeded):
    run = _finished_run()
    client.force_login(make_staff("officer", "Roll officers"))

    nul = client.get(f"/rolls/{run.id}/files/%00")
    inside = client.get(f"/rolls/{run.id}/files/C0001%00.pdf")
    too_long = client.get(f"/rolls/{run.id}/files/{'x' * 5000}.pdf")

    assert (nul.status_code, inside.status_code, too_long.status_code) == (404, 404, 404)


def test_rolls_root_inside_media_root_fails_the_system_checks(settings, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROLLS_ROOT = tmp_path / "media" / "rolls"

    with pytest.raises(SystemCheckError, match=r"filestore\.E001"):
        call_command("check")


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_runs_out_of_media(client, settings, rolls_root, seeded):
    run = _finished_run()
    station = Station.objects.filter(run=run).first()
    names = _file_names_at(rolls_root / str(run.id))
    executor = MigrationExecutor(connection)
    # Back before the move: the old layout, the run's folder under MEDIA_ROOT/rolls and
    # its paths stored with "rolls/".
    executor.migrate([("voterroll", "0003_roll_permissions")])
    old = settings.MEDIA_ROOT / "rolls" / str(run.id)
    assert sorted(_file_names_at(old)) == sorted(names)
    with connection.cursor() as cursor:
        cursor.execute("SELECT zip_file FROM voterroll_rollrun WHERE id = %s", [run.id])
        assert cursor.fetchone()[0] == f"rolls/{run.zip_file}"

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = RollRun.objects.get(id=run.id)
    assert moved.zip_file == f"{run.id}/roll-{run.id}.zip"
    assert Station.objects.get(id=station.id).book_file == station.book_file
    assert not (settings.MEDIA_ROOT / "rolls").exists()
    assert sorted(_file_names_at(rolls_root / str(run.id))) == sorted(names)
    client.force_login(make_staff("officer", "Roll officers"))
    book = Station.objects.get(id=station.id).book_name
    assert client.get(reverse("voterroll:file", args=[run.id, book])).status_code == 200
    assert client.get(f"/media/rolls/{run.id}/roll-{run.id}.zip").status_code == 404


def _file_names_at(folder) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
