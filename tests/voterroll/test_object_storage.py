"""A roll on object storage (SeaweedFS): every file an object, the zip streamed out."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import make_staff
from tests.seaweedfs import ROLLS_BUCKET, fetch
from voterroll import drawing, rolls, run_files

pytestmark = pytest.mark.django_db


def _objects(seaweedfs, prefix: str) -> dict[str, str]:
    """Return {key: etag} of every object under ``prefix`` in the rolls bucket."""
    pages = (
        seaweedfs.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=ROLLS_BUCKET, Prefix=prefix)
    )
    return {e["Key"]: e["ETag"] for page in pages for e in page.get("Contents", ())}


def test_a_roll_on_object_storage_zips_its_objects_and_downloads_with_its_sha256(
    client, seeded, on_s3, seaweedfs, rolls_root
):
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    run = rolls.finalize(run.id)
    folder = f"{on_s3['S3_ROLLS_PREFIX']}/{run.id}/"

    objects = _objects(seaweedfs, folder)
    client.force_login(make_staff("officer", "Roll officers"))
    answer = client.get(reverse("voterroll:file", args=[run.id, f"roll-{run.id}.zip"]))
    status, zipped, _ = fetch(answer["Location"])
    with run_files.storage().open(run.metadata_file) as stored:
        metadata = json.load(stored)
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}

    assert (answer.status_code, status) == (302, 200)
    assert hashlib.sha256(zipped).hexdigest() == metadata["zip"]["sha256"] == run.zip_sha256
    assert len(zipped) == metadata["zip"]["bytes"]
    listed = {entry["path"]: entry["sha256"] for entry in metadata["files"]}
    assert sorted(objects) == sorted(
        f"{folder}{name}" for name in [*listed, "metadata.json", f"roll-{run.id}.zip"]
    )
    assert {name: hashlib.sha256(members[name]).hexdigest() for name in listed} == listed
    assert json.loads(members["metadata.json"]) == {
        key: value for key, value in metadata.items() if key != "zip"
    }
    # Nothing of the run on this host's disk.
    assert not rolls_root.exists() or not [p for p in rolls_root.rglob("*") if p.is_file()]

    call_command("seed_voters", voters=300, centers=2, seed=1, replace=True)

    assert _objects(seaweedfs, folder) == {}


def test_a_cancelled_run_on_object_storage_leaves_no_object(seeded, on_s3, seaweedfs):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    for station_id in run.stations.values_list("id", flat=True)[:3]:
        drawing.draw_station(station_id)
    folder = f"{on_s3['S3_ROLLS_PREFIX']}/{run.id}/"
    assert len(_objects(seaweedfs, folder)) >= 6

    assert rolls.cancel(run.id)

    assert _objects(seaweedfs, folder) == {}
