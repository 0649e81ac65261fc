"""Posts on object storage: a worker process that shares no folder with the web.

The web is this test's process (Django's test client), the worker a ``bin/worker``
process with a ``DATA_DIR`` and temporary folder of its own; SeaweedFS is all they share
besides PostgreSQL, RabbitMQ and Redis.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from posts.models import UserPost
from posts.tasks import generate_thumbnails
from tests.factories import phone_jpeg
from tests.processes import worker_process
from tests.seaweedfs import MEDIA_BUCKET, UPLOADS_BUCKET, fetch
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("media")

BOXES = ["600x400", "300x300", "200x200", "100x100", "10x10", "5x5"]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def thumbnail_objects(seaweedfs, prefix: str, post_id: int) -> dict[str, tuple[str, object]]:
    """Return {key: (etag, last modified)} of a post's thumbnails in the media bucket."""
    listed = seaweedfs.client().list_objects_v2(
        Bucket=MEDIA_BUCKET, Prefix=f"{prefix}/posts/thumbnails/{post_id}/"
    )
    return {e["Key"]: (e["ETag"], e["LastModified"]) for e in listed.get("Contents", ())}


def test_uploads_become_ready_on_a_worker_sharing_no_folder_and_thumbnails_load_by_url(
    on_s3, images_queue, author_client, subprocess_env, wait_for_post, seaweedfs, tmp_path, media
):
    host = tmp_path / "worker-host"
    (host / "tmp").mkdir(parents=True)
    env = {
        **subprocess_env,
        **on_s3,
        "DATA_DIR": str(host),
        "TMPDIR": str(host / "tmp"),
        "WORKER_QUEUES": images_queue,
    }
    prefix = on_s3["S3_MEDIA_PREFIX"]

    with worker_process(env, args=("--pool", "prefork", "--concurrency", "2")):
        ids = []
        for size in ((4000, 3000), (1600, 1200), (800, 600)):
            response = author_client.post(
                reverse("posts:create"),
                {"image": SimpleUploadedFile("photo.jpg", phone_jpeg(size)), "caption": "c"},
            )
            assert response.status_code == 302
            ids.append(UserPost.objects.latest("id").id)
        posts = [wait_for_post(post_id, timeout=60) for post_id in ids]

        # A redelivered task (a crash after writing, before the ack) overwrites the same keys.
        first = thumbnail_objects(seaweedfs, prefix, ids[0])
        # S3 keeps LastModified in whole seconds: let a second pass so a rewrite shows.
        written = max(modified for _, modified in first.values())
        wait_until(lambda: datetime.now(UTC) >= written + timedelta(seconds=1), interval=0.1)
        UserPost.objects.filter(id=ids[0]).update(state="processing")
        generate_thumbnails.delay(ids[0])

        def rewritten() -> dict | None:
            again = thumbnail_objects(seaweedfs, prefix, ids[0])
            newer = all(key in again and again[key][1] > first[key][1] for key in first)
            ready = UserPost.objects.get(id=ids[0]).state == "ready"
            return again if newer and ready else None

        again = wait_until(rewritten, timeout=60, interval=0.2, what="the redelivery's rewrite")

    assert [post.state for post in posts] == ["ready"] * 3
    for post in posts:
        status = author_client.get(reverse("posts:status", args=[post.id])).json()
        assert sorted(t["box"] for t in status["thumbnails"]) == sorted(BOXES)
        for thumbnail in status["thumbnails"]:
            code, body, headers = fetch(thumbnail["url"])
            assert (code, headers["Content-Type"]) == (200, "image/jpeg"), thumbnail["url"]
            with Image.open(BytesIO(body)) as image:
                assert image.size == (thumbnail["width"], thumbnail["height"])

    assert (
        sorted(again)
        == sorted(first)
        == [f"{prefix}/posts/thumbnails/{ids[0]}/{box}.jpg" for box in sorted(BOXES)]
    )
    assert all(again[key][1] > first[key][1] for key in first), "the redelivery ran"
    assert {key: etag for key, (etag, _) in again.items()} == {
        key: etag for key, (etag, _) in first.items()
    }  # the same bytes, under the same keys: nothing added, nothing renamed

    # The originals are in the private bucket and no URL reaches them.
    uploads = storages["uploads"]
    for post in posts:
        assert uploads.exists(post.image.name)
        with pytest.raises(ValueError, match="private"):
            post.image.url  # noqa: B018 - the property raises
        assert (
            fetch(f"{seaweedfs.endpoint_url}/{UPLOADS_BUCKET}/{uploads.key(post.image.name)}")[0]
            == 403
        )
        assert fetch(storages["default"].url(post.image.name))[0] == 404
        assert post.image.name.encode() not in author_client.get(post.get_absolute_url()).content

    # Neither host kept a thumbnail or an original on its disk.
    assert files_under(host) == files_under(host / "metrics")
    assert files_under(media / "media") == files_under(media / "uploads") == []


def test_deleting_a_post_deletes_its_objects(
    on_s3, images_queue, author, author_client, subprocess_env, seaweedfs, tmp_path
):
    env = {**subprocess_env, **on_s3, "DATA_DIR": str(tmp_path), "WORKER_QUEUES": images_queue}
    uploads, prefix = storages["uploads"], on_s3["S3_MEDIA_PREFIX"]

    with worker_process(env):
        author_client.post(
            reverse("posts:create"),
            {"image": SimpleUploadedFile("p.jpg", phone_jpeg((640, 480))), "caption": "c"},
        )
        post = UserPost.objects.get()
        wait_until(
            lambda: len(thumbnail_objects(seaweedfs, prefix, post.id)) >= 6,
            timeout=60,
            interval=0.1,
            what="the thumbnails to appear",
        )

        author_client.post(reverse("posts:delete", args=[post.id]))
        wait_until(
            lambda: (
                not uploads.exists(post.image.name)
                and not thumbnail_objects(seaweedfs, prefix, post.id)
            ),
            timeout=60,
            interval=0.1,
            what="the post's objects to go",
        )

    assert not UserPost.objects.exists()
