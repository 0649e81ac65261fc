"""filestore.s3 against a real SeaweedFS: boto3 itself, then the storages built on it."""

from __future__ import annotations

import hashlib
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from filestore import s3
from filestore.configuration import from_environment
from filestore.s3 import ObjectStorage, ObjectStorageError
from tests.processes import free_port
from tests.seaweedfs import MEDIA_BUCKET, UPLOADS_BUCKET, fetch


def test_boto3_puts_gets_lists_and_presigns_on_seaweedfs(seaweedfs):
    client = seaweedfs.client()
    key = f"boto3/{time.monotonic_ns()}"

    for n in range(3):
        client.put_object(Bucket=UPLOADS_BUCKET, Key=f"{key}/{n}.txt", Body=b"data %d" % n)
    got = client.get_object(Bucket=UPLOADS_BUCKET, Key=f"{key}/1.txt")["Body"].read()
    listed = client.list_objects_v2(Bucket=UPLOADS_BUCKET, Prefix=f"{key}/")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": UPLOADS_BUCKET, "Key": f"{key}/2.txt"}, ExpiresIn=60
    )

    assert got == b"data 1"
    assert [entry["Key"] for entry in listed["Contents"]] == [f"{key}/{n}.txt" for n in range(3)]
    assert fetch(url)[:2] == (200, b"data 2")
    # Without the signature the private bucket refuses; the media bucket is public.
    assert fetch(f"{seaweedfs.endpoint_url}/{UPLOADS_BUCKET}/{key}/2.txt")[0] == 403
    client.put_object(Bucket=MEDIA_BUCKET, Key=f"{key}.txt", Body=b"public")
    assert fetch(f"{seaweedfs.endpoint_url}/{MEDIA_BUCKET}/{key}.txt")[:2] == (200, b"public")


@pytest.fixture
def s3_storages(s3_env):
    built, media_url = from_environment(s3_env)
    handler = {alias: storages.create_storage(params) for alias, params in built.items()}
    return handler, media_url


def test_saving_a_name_twice_overwrites_the_same_object(s3_storages, seaweedfs, s3_env):
    (store, _) = s3_storages
    media = store["default"]

    first = media.save("posts/thumbnails/1/5x5.jpg", ContentFile(b"one"))
    second = media.save("posts/thumbnails/1/5x5.jpg", ContentFile(b"two"))

    assert first == second == "posts/thumbnails/1/5x5.jpg"
    keys = seaweedfs.client().list_objects_v2(
        Bucket=MEDIA_BUCKET, Prefix=s3_env["S3_MEDIA_PREFIX"] + "/"
    )["Contents"]
    assert [entry["Key"] for entry in keys] == [
        f"{s3_env['S3_MEDIA_PREFIX']}/posts/thumbnails/1/5x5.jpg"
    ]
    with media.open(second) as file:
        assert file.read() == b"two"
    assert media.size(second) == 3
    assert media.exists(second)
    assert media.listdir("posts/thumbnails/1") == ([], ["5x5.jpg"])


def test_public_media_load_by_url_and_private_files_have_none(s3_storages):
    (store, media_url) = s3_storages
    store["default"].save("posts/thumbnails/2/5x5.jpg", ContentFile(b"jpeg bytes"))
    store["uploads"].save("originals/2/a.jpg", ContentFile(b"original"))

    url = store["default"].url("posts/thumbnails/2/5x5.jpg")

    assert url.startswith(media_url)
    assert fetch(url)[:2] == (200, b"jpeg bytes")
    with pytest.raises(ValueError, match="private"):
        store["uploads"].url("originals/2/a.jpg")
    # The media URL's pattern, or the bucket's own address, leads nowhere for an upload.
    uploads = store["uploads"]
    assert fetch(media_url + "originals/2/a.jpg")[0] == 404
    assert (
        fetch(f"{uploads.endpoint_url}/{UPLOADS_BUCKET}/{uploads.key('originals/2/a.jpg')}")[0]
        == 403
    )


def test_a_presigned_url_reads_one_object_for_its_lifetime_only(s3_storages):
    (store, _) = s3_storages
    rolls = store["rolls"]
    rolls.save("9/roll-9.zip", ContentFile(b"PK zip"))

    url = rolls.presigned_url("9/roll-9.zip", expires=2, filename="roll-9.zip", as_attachment=True)
    status, body, headers = fetch(url)
    time.sleep(3)

    assert (status, body) == (200, b"PK zip")
    assert headers["Content-Disposition"] == 'attachment; filename="roll-9.zip"'
    assert fetch(url)[0] == 403  # expired
    assert fetch(url.replace("roll-9.zip?", "metadata.json?"))[0] == 403  # signed for one key


def test_reads_stream_and_a_missing_object_is_file_not_found(s3_storages):
    (store, _) = s3_storages
    uploads = store["uploads"]
    data = bytes(range(256)) * 4096  # 1 MiB
    uploads.save("originals/big.bin", ContentFile(data))

    with uploads.open("originals/big.bin") as file:
        assert file.size == len(data)
        assert file.read(10) == data[:10]
        assert b"".join(file.chunks()) == data[10:]
    with pytest.raises(FileNotFoundError):
        uploads.open("originals/missing.bin")
    with pytest.raises(FileNotFoundError):
        uploads.size("originals/missing.bin")
    uploads.delete("originals/missing.bin")  # deleting a missing file is fine


def test_the_writer_streams_a_large_file_as_a_multipart_upload(s3_storages, seaweedfs, s3_env):
    (store, _) = s3_storages
    rolls = store["rolls"]
    chunk = bytes(range(256)) * 4096
    parts = 2 * s3.PART_SIZE // len(chunk) + 3  # two full parts and a short one

    with rolls.atomic_writer("5/roll-5.zip", sha256=True) as out:
        for _ in range(parts):
            out.write(chunk)
        assert not rolls.exists("5/roll-5.zip")  # nothing visible before the end

    expected = chunk * parts
    assert out.size == len(expected)
    assert out.sha256 == hashlib.sha256(expected).hexdigest()
    with rolls.open("5/roll-5.zip") as file:
        assert hashlib.sha256(file.read()).hexdigest() == out.sha256
    client = seaweedfs.client()
    assert client.list_multipart_uploads(Bucket=rolls.bucket_name).get("Uploads", []) == []


def test_a_failed_writer_leaves_no_object_and_no_pending_upload(s3_storages, seaweedfs):
    (store, _) = s3_storages
    rolls = store["rolls"]

    with pytest.raises(RuntimeError), rolls.atomic_writer("6/roll-6.zip") as out:
        out.write(b"x" * (s3.PART_SIZE + 1))  # one part already sent
        raise RuntimeError("interrupted")
    with rolls.atomic_writer("6/small.json") as small:
        small.write(b"{}")  # under one part: a single PUT

    assert not rolls.exists("6/roll-6.zip")
    assert rolls.open("6/small.json").read() == b"{}"
    uploads = seaweedfs.client().list_multipart_uploads(Bucket=rolls.bucket_name)
    assert [u["Key"] for u in uploads.get("Uploads", [])] == []


def test_save_many_and_delete_folder(s3_storages):
    (store, _) = s3_storages
    media = store["default"]
    files = {f"posts/thumbnails/3/{n}.jpg": bytes([n]) * 10 for n in range(6)}

    media.save_many(files)
    media.save("posts/thumbnails/30/5x5.jpg", ContentFile(b"another post"))
    listed = media.listdir("posts/thumbnails/3")[1]
    media.delete_folder("posts/thumbnails/3")

    assert sorted(listed) == sorted(name.rsplit("/", 1)[1] for name in files)
    assert media.listdir("posts/thumbnails/3") == ([], [])
    assert media.exists("posts/thumbnails/30/5x5.jpg")  # a prefix, not a string match


def test_prepare_creates_a_missing_bucket_once(s3_env, seaweedfs):
    built, _ = from_environment({**s3_env, "S3_ROLLS_BUCKET": f"extra-{time.time_ns()}"})
    rolls = storages.create_storage(built["rolls"])

    assert rolls.prepare().endswith("(created)")
    assert rolls.prepare().endswith("(exists)")
    rolls.save("x.txt", ContentFile(b"x"))
    assert rolls.exists("x.txt")


def test_an_unreachable_server_is_an_os_error_naming_the_file():
    storage = ObjectStorage(
        bucket_name="b",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key="k",
        secret_key="s",
        region_name="us-east-1",
        addressing_style="path",
        max_attempts=1,
    )

    with pytest.raises(ObjectStorageError, match=r"originals/a\.jpg") as raised:
        storage.open("originals/a.jpg")
    assert isinstance(raised.value, OSError)
    with pytest.raises(OSError):
        storage.save_many({"a": b"a"})


def test_read_many_yields_every_object_in_order_and_a_missing_one_fails(s3_storages):
    (store, _) = s3_storages
    rolls = store["rolls"]
    # More than READ_AHEAD, of uneven sizes: a quick later one must not overtake.
    files = {f"8/C0001/station-{n:03d}.pdf": bytes([n]) * (1 + 40_000 * (n % 3)) for n in range(20)}
    rolls.save_many(files)

    assert list(rolls.read_many(iter(files))) == list(files.values())
    with pytest.raises(FileNotFoundError):
        list(rolls.read_many(["8/C0001/station-000.pdf", "8/C0001/missing.pdf"]))
