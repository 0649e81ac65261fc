"""The object storage (SeaweedFS) stopped for 10 s during a roll and during uploads.

Workers keep their files nowhere but in the storage; while it is gone, every task that
reads or writes a file fails with an ObjectStorageError and is retried with backoff.
Once it is back, everything accepted before and during the outage completes, once.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from posts.models import Thumbnail, UserPost
from tests.factories import make_user, phone_jpeg
from tests.processes import worker_process
from tests.support.roll_runs import (
    ROLL_TIMEOUT,
    record_voters,
    start_roll,
    state_of,
    wait_for_drawing_to_resume,
    wait_for_end,
)
from tests.support.waiting import wait_until
from voterroll import run_files

OUTAGE_SECONDS = 10
# Six boxes per post (THUMBNAIL_SIZES).
SIZES = 6


def outage(server, seconds: float = OUTAGE_SECONDS) -> float:
    """Stop the storage (waiting for it to stop), keep it down ``seconds``, start it again;
    return when it answers again (time.monotonic())."""
    server.stop()
    time.sleep(seconds)
    server.start()
    return time.monotonic()


@pytest.mark.faults
def test_a_roll_survives_ten_seconds_without_its_object_storage(
    roll_env,
    own_s3,
    own_seaweedfs,
    publish,
    fault_row,
):
    # One worker process: the run must still be drawing when the storage goes away.
    env = {**roll_env, **own_s3, "WORKER_CONCURRENCY": "1"}

    with worker_process(env):
        run = start_roll(publish)
        wait_until(
            lambda: state_of(run).stations_done >= 20,
            timeout=ROLL_TIMEOUT,
            what="20 stations drawn",
        )
        done_at_stop = state_of(run).stations_done
        restarted = outage(own_seaweedfs)
        done_at_restart = state_of(run).stations_done
        wait_for_drawing_to_resume(run, done_at_restart)
        recovery = time.monotonic() - restarted
        wait_for_end(run)

    assert run.state == "done", run.error
    assert done_at_restart < run.stations_count, "the run finished before the outage"
    with run_files.storage().open(run.metadata_file) as stored:
        metadata = json.load(stored)
    with run_files.storage().open(run.zip_file) as stored:
        zipped = stored.read()
    assert hashlib.sha256(zipped).hexdigest() == metadata["zip"]["sha256"] == run.zip_sha256
    record_voters(
        fault_row,
        run,
        scenario=f"SeaweedFS down {OUTAGE_SECONDS} s (roll)",
        done=f"stopped at {done_at_stop}/{run.stations_count} stations",
        recovery_s=recovery,
    )


def _upload(client, n: int) -> int:
    response = client.post(
        reverse("posts:create"),
        {"image": SimpleUploadedFile(f"{n}.jpg", phone_jpeg((2400, 1800))), "caption": f"{n}"},
    )
    return response.status_code


@pytest.mark.faults
def test_uploads_survive_ten_seconds_without_their_object_storage(
    client,
    subprocess_env,
    own_s3,
    own_seaweedfs,
    images_queue,
    fault_row,
    tmp_path,
):
    client.force_login(make_user("author"))
    env = {
        **subprocess_env,
        **own_s3,
        "DATA_DIR": str(tmp_path),
        "WORKER_QUEUES": images_queue,
        "WORKER_CONCURRENCY": "1",
    }

    with worker_process(env, args=("--pool", "prefork")):
        before = [_upload(client, n) for n in range(20)]
        ready_at_stop = UserPost.objects.filter(state=UserPost.State.READY).count()
        own_seaweedfs.stop()
        # Uploads while the storage is gone are refused, with a message; none half-saved.
        during = [_upload(client, 100 + n) for n in range(3)]
        time.sleep(OUTAGE_SECONDS)
        own_seaweedfs.start()
        restarted = time.monotonic()
        after = [_upload(client, 200 + n) for n in range(5)]
        accepted = UserPost.objects.count()
        wait_until(
            lambda: UserPost.objects.exclude(state=UserPost.State.PROCESSING).count() == accepted,
            timeout=300,
            what="every accepted upload to be processed",
        )
        recovery = time.monotonic() - restarted

    assert before == [302] * 20 and after == [302] * 5
    assert during == [503] * 3
    assert accepted == 25
    assert ready_at_stop < 20, "every thumbnail was made before the outage"
    posts = UserPost.objects.all()
    rows = Thumbnail.objects.filter(post__in=posts)
    media = storages["default"]
    # An object more than the six sizes would be a thumbnail made twice.
    objects = {post.id: len(media.listdir(f"posts/thumbnails/{post.id}")[1]) for post in posts}
    seen = {
        post.id: 1 + objects[post.id] - SIZES
        for post in posts
        if post.state == UserPost.State.READY and objects[post.id] >= SIZES
    }
    row = fault_row(
        scenario=f"SeaweedFS down {OUTAGE_SECONDS} s (uploads)",
        done=f"{ready_at_stop}/20 ready at the stop; 3 refused (503) while down; 5 after",
        expected=accepted,
        seen=seen,
        recovery_s=recovery,
    )
    assert [(post.state, post.failure_reason) for post in posts] == [("ready", "")] * accepted
    assert rows.count() == SIZES * accepted
    assert row["lost"] == 0
    assert row["duplicated"] == 0
