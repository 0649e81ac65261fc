"""Three "hosts" sharing no folder: a gunicorn web, worker A and worker B.

Each process has a DATA_DIR, a temporary folder and a working directory of its own;
PostgreSQL, RabbitMQ (a vhost of this test's own), Redis and SeaweedFS are all they
share. Everything is done through the web's HTTP interface, as a person would.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import io
import json
import re
import subprocess
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from posts.models import UserPost
from tests.factories import make_staff, phone_jpeg
from tests.processes import ROOT, free_port, web_process, worker_process
from tests.seaweedfs import fetch
from tests.support.waiting import wait_until
from voterroll.models import RollRun
from voterroll.seeding import seed_voters

BOXES = ["600x400", "300x300", "200x200", "100x100", "10x10", "5x5"]
# The file types a host must not keep: roll files and thumbnails (and upload originals).
HOSTED_FILES = re.compile(r"\.(pdf|zip|json|jpe?g|png)$")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A signed-in user's browser: cookies, CSRF tokens, forms, and no redirect followed."""

    def __init__(self, base: str, user) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects
        )
        signed_in = Client()
        signed_in.force_login(user)
        host = urlsplit(base).hostname
        session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
        self.cookies.set_cookie(_cookie(settings.SESSION_COOKIE_NAME, session, host))

    def request(self, path: str, data: bytes | None = None, headers=None):
        """Return (status, body, headers) of a GET, or of a POST when ``data`` is given."""
        # A local test server over plain HTTP.
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers

    def post_form(self, path: str, fields: dict[str, str], files: dict[str, bytes] | None = None):
        """Fetch the form at ``path`` for its CSRF token, then post it (multipart)."""
        status, page, _ = self.request(path)
        assert status == 200, (path, status)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in {**fields, "csrfmiddlewaretoken": token[1].decode()}.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, data in (files or {}).items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            )
            body.write(data + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        return self.request(
            path,
            body.getvalue(),
            {"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base},
        )


def _cookie(name: str, value: str, host: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        0, name, value, None, False, host, False, False, "/", True, False, None, False,
        None, None, {},
    )  # fmt: skip


def _hosted_files(folder: Path) -> Iterator[str]:
    for path in folder.rglob("*"):
        if path.is_file() and HOSTED_FILES.search(path.name):
            yield str(path)


@pytest.fixture
def own_vhost(subprocess_env) -> Iterator[str]:
    """A RabbitMQ vhost for these processes alone: no other worker takes their tasks."""
    vhost = f"hosts-{uuid.uuid4().hex[:10]}"
    run = ["rabbitmqctl", "-q"]
    subprocess.run([*run, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    url = urlsplit(subprocess_env["CELERY_BROKER_URL"])
    user = url.username or "guest"
    subprocess.run(
        [*run, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    yield urlunsplit(url._replace(path=f"/{vhost}"))
    subprocess.run([*run, "delete_vhost", vhost], capture_output=True, timeout=60)


def test_web_and_two_workers_sharing_only_the_services_make_thumbnails_and_a_roll(
    subprocess_env, s3_env, own_vhost, tmp_path
):
    hosts = {name: tmp_path / name for name in ("web", "worker-a", "worker-b")}
    envs = {}
    for name, host in hosts.items():
        (host / "tmp").mkdir(parents=True)
        (host / "cwd").mkdir()
        envs[name] = {
            **subprocess_env,
            **s3_env,
            "CELERY_BROKER_URL": own_vhost,
            "DATA_DIR": str(host / "data"),
            "TMPDIR": str(host / "tmp"),
            # The project is imported from its checkout, not from the working directory.
            "PYTHONPATH": str(ROOT),
            "METRICS_TOKEN": "hosts-test",
        }
    envs["worker-a"].update(WORKER_QUEUES="default,images,notifications")
    envs["worker-b"].update(WORKER_QUEUES="pdf")
    for name in ("worker-a", "worker-b"):
        envs[name].update(WORKER_METRICS_PORT=str(free_port()), WORKER_CONCURRENCY="2")
    author = make_staff("author", "Roll officers")
    seed_voters(voters=2000, centers=3, seed=11, locale="en", replace=False)

    with ExitStack() as stack:
        stack.enter_context(
            worker_process(
                envs["worker-a"], args=("--pool", "prefork"), cwd=hosts["worker-a"] / "cwd"
            )
        )
        stack.enter_context(
            worker_process(
                envs["worker-b"], args=("--pool", "prefork"), cwd=hosts["worker-b"] / "cwd"
            )
        )
        base = stack.enter_context(web_process(envs["web"], cwd=hosts["web"] / "cwd"))
        browser = Browser(base, author)

        # Uploads: the web stores the originals, worker A makes the thumbnails.
        posted = [
            browser.post_form("/posts/new/", {"caption": f"photo {n}"}, {"image": phone_jpeg(size)})
            for n, size in enumerate([(1600, 1200), (800, 600)])
        ]
        assert [status for status, _, _ in posted] == [302, 302]
        ids = list(UserPost.objects.order_by("id").values_list("id", flat=True))
        for post_id in ids:
            wait_until(
                lambda post_id=post_id: UserPost.objects.get(id=post_id).state == "ready",
                timeout=120,
                interval=0.5,
                what=f"post {post_id} ready",
            )
        thumbnails = []
        for post_id in ids:
            status, body, _ = browser.request(f"/posts/{post_id}/status/")
            listed = json.loads(body)["thumbnails"]
            _, page, _ = browser.request(f"/posts/{post_id}/")
            assert sorted(t["box"] for t in listed) == sorted(BOXES)
            assert all(t["url"].encode() in page for t in listed)
            thumbnails += listed

        # A roll: started on the web, assigned on worker A, drawn and zipped on worker B.
        status, _, _ = browser.post_form("/rolls/", {"strategy": "per_station"})
        assert status == 302
        run = RollRun.objects.get()
        progress = wait_until(
            lambda: (
                (found := json.loads(browser.request(f"/rolls/{run.id}/progress.json")[1]))["state"]
                not in {"queued", "assigning", "rendering", "finalizing"}
                and found
            ),
            timeout=300,
            interval=0.5,
            what=f"roll run {run.id} done",
        )
        assert progress["state"] == "done", progress["error"]
        downloaded = {}
        for name, url in (
            ("zip", progress["zip_url"]),
            ("metadata", f"/rolls/{run.id}/files/metadata.json"),
        ):
            status, _, headers = browser.request(url)
            assert status == 302, (url, status)
            status, downloaded[name], _ = fetch(headers["Location"])
            assert status == 200

    for thumbnail in thumbnails:
        status, body, headers = fetch(thumbnail["url"])
        assert (status, headers["Content-Type"]) == (200, "image/jpeg"), thumbnail["url"]
        with Image.open(io.BytesIO(body)) as image:
            assert image.size == (thumbnail["width"], thumbnail["height"])
    metadata = json.loads(downloaded["metadata"])
    zipped = downloaded["zip"]
    assert metadata["voters"] == 2000
    assert hashlib.sha256(zipped).hexdigest() == metadata["zip"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert {
        entry["path"]: hashlib.sha256(members[entry["path"]]).hexdigest()
        for entry in metadata["files"]
    } == {entry["path"]: entry["sha256"] for entry in metadata["files"]}
    # No host kept a roll file, an original or a thumbnail.
    assert [path for host in hosts.values() for path in _hosted_files(host)] == []
