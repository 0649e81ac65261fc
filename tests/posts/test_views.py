"""Upload, gallery, post page, status JSON and delete, through Django's test client."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from posts.models import CAPTION_MAX_LENGTH, UserPost
from posts.uploads import inspect_upload
from tests.factories import image_bytes, make_user, phone_jpeg, png_bomb, stripes
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("media")


def upload(client, data: bytes, *, name: str = "photo.jpg", caption: str = "A caption"):
    return client.post(
        reverse("posts:create"),
        {"caption": caption, "image": SimpleUploadedFile(name, data)},
    )


def errors(response) -> list[str]:
    form = response.context["form"]
    return [message for messages in form.errors.values() for message in messages]


def test_upload_redirects_to_the_waiting_post_and_stores_the_upload_under_a_fresh_name(
    author_client, author, settings
):
    response = upload(author_client, phone_jpeg(), name="../../etc/passwd.jpg")

    post = UserPost.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("posts:detail", args=[post.id])
    assert (post.author, post.caption, post.state) == (author, "A caption", "waiting")
    assert post.image.name.startswith("originals/") and post.image.name.endswith(".jpg")
    assert "passwd" not in post.image.name
    # Kept out of MEDIA_ROOT: what the site serves is re-encoded output only.
    assert post.image.path.startswith(str(settings.POST_UPLOADS_ROOT))


def test_upload_needs_a_signed_in_user(client, db):
    response = upload(client, phone_jpeg())

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not UserPost.objects.exists()


@pytest.mark.parametrize(
    ("data", "name", "caption", "message"),
    [
        (b"just some text, not an image", "notes.png", "c", "This file is not an image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.png",
         "c", "This file is not an image"),
        (image_bytes(stripes((32, 32)), "BMP"), "old.bmp", "c", "BMP images are not accepted"),
        (image_bytes(stripes((32, 32)), "TIFF"), "scan.tif", "c", "TIFF images are not accepted"),
        (png_bomb(), "bomb.png", "c", "(64 megapixels); the limit is 50 megapixels"),
        (phone_jpeg((64, 64)), "ok.jpg", "   ", "Write a caption"),
        (phone_jpeg((64, 64)), "ok.jpg", "x" * (CAPTION_MAX_LENGTH + 1), "at most 500"),
    ],
    ids=["text", "svg-renamed-png", "bmp", "tiff", "decompression-bomb", "empty-caption",
         "long-caption"],
)  # fmt: skip
def test_bad_upload_is_refused_with_a_message_the_user_understands(
    author_client, data, name, caption, message
):
    response = upload(author_client, data, name=name, caption=caption)

    assert response.status_code == 200
    assert any(message in error for error in errors(response)), errors(response)
    assert message.split("(")[0] in response.content.decode()
    assert not UserPost.objects.exists()


def test_file_over_the_upload_limit_is_refused(author_client, settings):
    settings.POST_MAX_UPLOAD_BYTES = 100_000
    noise = image_bytes(Image.effect_noise((400, 300), 64).convert("RGB"), "PNG")
    assert len(noise) > 100_000

    response = upload(author_client, noise, name="noise.png")

    assert response.status_code == 413
    message = "The file is larger than the limit, 0.1 MB (100,000 bytes). Upload a smaller image."
    assert errors(response) == [message]
    assert not UserPost.objects.exists()


class GeneratedBody:
    """A multipart body made as it is read, never whole in memory; counts what is read."""

    def __init__(self, fields: dict[str, str], file_bytes: int, boundary: str) -> None:
        parts = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in fields.items()
        )
        self.head = (
            parts
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                'filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
        )
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.length = len(self.head) + file_bytes + len(self.tail)
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        left = self.length - self.read_bytes
        size = left if size is None or size < 0 else min(size, left)
        start, end = self.read_bytes, self.read_bytes + size
        file_end = self.length - len(self.tail)
        chunk = self.head[start:end]
        if end > len(self.head):
            chunk += b"\xff" * (min(end, file_end) - max(start, len(self.head)))
        if end > file_end:
            chunk += self.tail[max(0, start - file_end) : end - file_end]
        self.read_bytes = end
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = b""
        while not line.endswith(b"\n") and len(line) != size and self.read_bytes < self.length:
            line += self.read(1)
        return line


def test_a_huge_upload_is_cut_off_at_the_limit_not_read_whole(author_client, settings):
    """A 200 MB upload was written to disk whole before the 20 MB limit refused it."""
    settings.POST_MAX_UPLOAD_BYTES = 1024 * 1024
    body = GeneratedBody({"caption": "big"}, 200 * 1024 * 1024, "XyZ")

    # The test client, with the body replaced by one read as a server streams it.
    response = author_client.generic(
        "POST",
        reverse("posts:create"),
        **{
            "wsgi.input": body,
            "CONTENT_LENGTH": str(body.length),
            "CONTENT_TYPE": "multipart/form-data; boundary=XyZ",
        },
    )

    assert response.status_code == 413
    assert errors(response) == [
        "The file is larger than the limit, 1 MB (1,048,576 bytes). Upload a smaller image."
    ]
    # One 64 KiB chunk past the limit at most, and the form fields before the file.
    assert body.read_bytes < settings.POST_MAX_UPLOAD_BYTES + 128 * 1024
    assert [p for p in Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir() if p.is_file()] == []
    assert not UserPost.objects.exists()


def test_post_page_and_status_show_a_waiting_post_to_its_author_only(author_client, author, client):
    post = UserPost.objects.create(
        author=author, caption="soon", image=ContentFile(phone_jpeg(), name="a.jpg")
    )

    page = author_client.get(post.get_absolute_url())
    status = author_client.get(reverse("posts:status", args=[post.id])).json()

    assert "Waiting" in page.content.decode()
    assert status == {
        "id": post.id,
        "state": "waiting",
        "state_label": "Waiting",
        "failure_reason": "",
        "thumbnails": [],
    }
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_gallery_lists_only_ready_posts_newest_first_twelve_a_page(client, author):
    for i in range(14):
        UserPost.objects.create(author=author, caption=f"ready {i}", state="ready", image="x.jpg")
    UserPost.objects.create(author=author, caption="still waiting", image="y.jpg")

    first = client.get(reverse("posts:index"))
    second = client.get(reverse("posts:index"), {"page": 2})

    captions = [p.caption for p in first.context["page"]]
    assert captions == [f"ready {i}" for i in range(13, 1, -1)]
    assert [p.caption for p in second.context["page"]] == ["ready 1", "ready 0"]
    assert "still waiting" not in first.content.decode() + second.content.decode()


def test_author_deletes_a_post_and_a_worker_deletes_its_files(author_client, author, media, worker):
    post = UserPost.objects.create(
        author=author, caption="bye", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    thumbs = media / "media" / "posts" / "thumbnails" / str(post.id)
    thumbs.mkdir(parents=True, exist_ok=True)
    (thumbs / "5x5.jpg").write_bytes(b"jpeg")
    upload_path = Path(post.image.path)

    response = author_client.post(reverse("posts:delete", args=[post.id]))

    assert response.status_code == 302
    assert response.url == reverse("posts:mine")
    assert not UserPost.objects.filter(id=post.id).exists()
    wait_until(
        lambda: not upload_path.exists() and not thumbs.exists(), what="the post's files to go"
    )


def test_someone_else_cannot_delete_a_post(client, author):
    post = UserPost.objects.create(author=author, caption="mine", image="x.jpg")
    client.force_login(make_user("other"))

    response = client.post(reverse("posts:delete", args=[post.id]))

    assert response.status_code == 403
    assert UserPost.objects.filter(id=post.id).exists()


def test_a_file_a_little_over_the_limit_is_told_apart_from_the_limit():
    """21,000,000 bytes against a 20 MiB limit once read "20.0 MB; the limit is 20.0 MB"."""
    upload = SimpleUploadedFile("big.jpg", b"x" * 16)
    upload.size = 21_000_000

    with pytest.raises(ValidationError) as refused:
        inspect_upload(upload, max_bytes=20 * 1024 * 1024, max_pixels=50_000_000)

    assert refused.value.messages == [
        "The file is 20.03 MB (21,000,000 bytes); the limit is 20 MB (20,971,520 bytes). "
        "Upload a smaller image."
    ]


def test_the_upload_page_carries_the_limits_the_browser_checks(author_client, settings):
    settings.POST_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    settings.POST_MAX_PIXELS = 1_000_000

    page = author_client.get(reverse("posts:create")).content.decode()

    assert 'data-max-bytes="5242880"' in page
    assert 'data-max-size="5 MB (5,242,880 bytes)"' in page
    assert 'data-max-pixels="1000000"' in page
    assert 'accept="image/jpeg,image/png,image/webp,image/gif"' in page


def test_delete_asks_first_and_a_get_deletes_nothing(author_client, author):
    post = UserPost.objects.create(author=author, caption="keep me?", image="x.jpg")

    response = author_client.get(reverse("posts:delete", args=[post.id]))

    assert response.status_code == 200
    assert "Delete this post?" in response.content.decode()
    assert "keep me?" in response.content.decode()
    assert UserPost.objects.filter(id=post.id).exists()


def test_someone_else_cannot_open_the_delete_page(client, author):
    post = UserPost.objects.create(author=author, caption="mine", image="x.jpg")
    client.force_login(make_user("other"))

    assert client.get(reverse("posts:delete", args=[post.id])).status_code == 403


def test_my_posts_lists_every_state_of_mine_only_with_the_failure_reason(author_client, author):
    UserPost.objects.create(author=author, caption="done", state="ready", image="a.jpg")
    UserPost.objects.create(author=author, caption="queued", image="b.jpg")
    failed = UserPost.objects.create(
        author=author,
        caption="broken",
        state="failed",
        failure_reason="The image is damaged.",
        image="c.jpg",
    )
    UserPost.objects.create(author=make_user("other"), caption="not mine", image="d.jpg")

    response = author_client.get(reverse("posts:mine"))

    page = response.content.decode()
    assert [p.caption for p in response.context["page"]] == ["broken", "queued", "done"]
    assert "not mine" not in page
    assert "The image is damaged." in page
    assert page.count('action="' + reverse("posts:retry", args=[failed.id]) + '"') == 1
    assert page.count("Retry</button>") == 1
    # "queued" is still waiting: the page refreshes itself until it is done.
    assert '<meta http-equiv="refresh"' in page


def test_retry_requeues_a_failed_post_once_and_only_after_commit(
    author_client, author, django_capture_on_commit_callbacks
):
    post = UserPost.objects.create(
        author=author, caption="again", state="failed", failure_reason="Too long.", image="a.jpg"
    )
    url = reverse("posts:retry", args=[post.id])

    with django_capture_on_commit_callbacks() as first:
        response = author_client.post(url)
    with django_capture_on_commit_callbacks() as second:
        author_client.post(url)

    assert response.status_code == 302
    assert response.url == reverse("posts:mine")
    post.refresh_from_db()
    assert (post.state, post.failure_reason) == ("waiting", "")
    # One callback for the retry; the second retry found nothing failed and queued nothing.
    assert len(first) == 1
    assert len(second) == 0


def test_only_the_author_can_retry(client, author):
    post = UserPost.objects.create(author=author, caption="x", state="failed", image="a.jpg")
    client.force_login(make_user("other"))

    assert client.post(reverse("posts:retry", args=[post.id])).status_code == 403
    post.refresh_from_db()
    assert post.state == "failed"


def test_a_failed_post_page_offers_its_author_a_retry_that_comes_back_to_it(
    author_client, author, client, django_capture_on_commit_callbacks
):
    post = UserPost.objects.create(
        author=author, caption="x", state="failed", failure_reason="Too long.", image="a.jpg"
    )
    retry_url = reverse("posts:retry", args=[post.id])

    page = author_client.get(post.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = author_client.post(retry_url, {"back": "post"})

    assert f'action="{retry_url}" class="retry" id="post-retry">' in page
    assert response.url == post.get_absolute_url()
    assert len(queued) == 1
    client.force_login(make_user("other"))
    UserPost.objects.filter(id=post.id).update(state="ready")
    assert retry_url not in client.get(post.get_absolute_url()).content.decode()


def test_an_upload_while_the_storage_is_down_is_refused_with_a_message_and_saves_nothing(
    author_client, settings
):
    from filestore.configuration import from_environment
    from tests.processes import free_port

    # Object storage on a port nothing listens on: every request is refused.
    storages, _ = from_environment(
        {
            "FILE_STORAGE": "s3",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
            "S3_BUCKET": "backlot",
            "S3_ACCESS_KEY_ID": "k",
            "S3_SECRET_ACCESS_KEY": "s",
        }
    )
    settings.STORAGES = {**storages, "staticfiles": settings.STORAGES["staticfiles"]}

    response = upload(author_client, phone_jpeg())

    assert response.status_code == 503
    assert errors(response) == [
        "The file storage is not answering, so your image was not saved. Try again in a minute."
    ]
    assert not UserPost.objects.exists()
