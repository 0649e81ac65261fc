"""Production mode as it is deployed: the Dockerfile's static step, gunicorn with DEBUG=0,
and every page answering 200, public and staff, behind a TLS-terminating proxy."""

from __future__ import annotations

import http.client
import re
import secrets
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.tasks import EMAIL_ACTIVE_USERS
from operations import health
from outings.models import Outing, Participant, Tweet
from posts.models import UserPost
from tasking.models import GeneratorJob
from tests.factories import PASSWORD
from tests.processes import ROOT, web_process
from voterroll import drawing, rolls
from voterroll.models import RollRun, Station
from voterroll.seeding import seed_voters

# Pages that only take a POST: there is nothing to GET.
POST_ONLY = {"logout", "posts:retry", "outings:retry", "voterroll:cancel", "operations:dead_letter"}
# Pages anyone may see; the others send anonymous visitors to sign in.
PUBLIC = [
    "home",
    "login",
    "password_reset_confirm",
    "password_reset_complete",
    "time_zone",
    "posts:index",
    "outings:index",
    "outings:detail",
    "outings:timeline",
    "operations:healthz",
]


def dockerfile_static_step() -> str:
    """Return the static step exactly as the Dockerfile's RUN line writes it."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("RUN ") and "collectstatic" in line:
            return next(part.strip() for part in line[4:].split("&&") if "collectstatic" in part)
    raise AssertionError("the Dockerfile has no collectstatic step")


class Visitor:
    """An HTTP client behind a TLS-terminating proxy: X-Forwarded-Proto, its own cookies.

    Cookies are Secure in production; this client sends them back over the loopback
    as the proxy would, whatever their flags.
    """

    def __init__(self, base: str) -> None:
        self.netloc = urlsplit(base).netloc
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.netloc, timeout=60)
        headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{self.netloc}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return response.status, content

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def sign_in(self, username: str, password: str) -> None:
        status, page = self.get("/accounts/login/")
        assert status == 200, page[:2000]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1].decode()
        status, page = self.request(
            "POST",
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": token},
        )
        assert status == 302, page[:2000]
        assert "sessionid" in self.cookies


def _route_names(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    """Name every route of the site outside the admin (which is fetched model by model)."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                names |= _route_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def _site_with_one_of_everything(staff) -> dict[str, str]:
    """Make a post, an outing with a tweet, a finished roll and an email job; name the pages."""
    post = UserPost.objects.bulk_create(
        [UserPost(author=staff, caption="Harbour", image="p.jpg", state="failed")]
    )[0]
    outing = Outing.objects.bulk_create(
        [
            Outing(
                title="Walk",
                place="Park",
                starts_at=timezone.now() + timedelta(days=1),
                created_by=staff,
            )
        ]
    )[0]
    Participant.objects.create(outing=outing, user=staff, name="Boss", handle="boss")
    Tweet.objects.create(
        idempotency_key="announce:1",
        kind="announcement",
        text="Walk",
        outing=outing,
        state="failed",
        last_error="X API 401",
    )
    seed_voters(voters=120, centers=2, seed=3, locale="en", replace=False)
    run = rolls.assign(rolls.create_run(strategy=RollRun.Strategy.SINGLE).id)
    drawing.draw_all(run.id)
    run = rolls.finalize(run.id)
    station = Station.objects.filter(run=run).first()
    job = GeneratorJob.objects.create(
        name=EMAIL_ACTIVE_USERS,
        params={"subject": "Hi", "body": "x"},
        state="done",
        rows_total=1,
        rows_done=1,
        rows_succeeded=1,
    )
    return {
        "home": reverse("home"),
        "login": reverse("login"),
        "password_reset_confirm": reverse("password_reset_confirm", args=["MQ", "set-password"]),
        "password_reset_complete": reverse("password_reset_complete"),
        "time_zone": reverse("time_zone"),
        "email_all": reverse("email_all"),
        "email_job": reverse("email_job", args=[job.pk]),
        "posts:index": reverse("posts:index"),
        "posts:create": reverse("posts:create"),
        "posts:detail": reverse("posts:detail", args=[post.pk]),
        "posts:status": reverse("posts:status", args=[post.pk]),
        "posts:mine": reverse("posts:mine"),
        "posts:delete": reverse("posts:delete", args=[post.pk]),
        "outings:index": reverse("outings:index"),
        "outings:create": reverse("outings:create"),
        "outings:detail": reverse("outings:detail", args=[outing.pk]),
        "outings:timeline": reverse("outings:timeline"),
        "voterroll:index": reverse("voterroll:index"),
        "voterroll:run": reverse("voterroll:run", args=[run.pk]),
        "voterroll:progress": reverse("voterroll:progress", args=[run.pk]),
        "voterroll:file": reverse("voterroll:file", args=[run.pk, station.book_name]),
        "operations:healthz": reverse("operations:healthz"),
        "operations:metrics": reverse("operations:metrics"),
        "operations:dashboard": reverse("operations:dashboard"),
    }


def _admin_pages() -> list[str]:
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return pages


@pytest.mark.usefixtures("worker")
def test_every_page_answers_200_with_debug_off_after_the_dockerfiles_static_step(
    subprocess_env, settings, tmp_path, django_user_model
):
    static = tmp_path / "static"
    settings.ROLLS_ROOT = tmp_path / "rolls"
    production = {
        **subprocess_env,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static),
        "ROLLS_ROOT": str(settings.ROLLS_ROOT),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    # The image build has no key and no DEBUG: the step must do without them.
    build = {k: v for k, v in production.items() if k not in {"DEBUG", "SECRET_KEY"}}
    step = subprocess.run(
        ["sh", "-c", dockerfile_static_step()],
        cwd=ROOT,
        env=build,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert step.returncode == 0, step.stderr
    assert (static / "staticfiles.json").is_file(), "no manifest: every {% static %} fails"

    staff = django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    pages = _site_with_one_of_everything(staff)
    assert set(pages) == _route_names() - POST_ONLY, "a page of the site is not fetched here"
    health.record_beat_heartbeat()

    with web_process(production) as base:
        anonymous = Visitor(base)
        public = {name: anonymous.get(pages[name])[0] for name in PUBLIC}
        boss = Visitor(base)
        boss.sign_in("boss", PASSWORD)
        signed_in = {path: boss.get(path)[0] for path in [*pages.values(), *_admin_pages()]}
        home = boss.get("/")[1].decode()
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', home)
        assets += re.findall(
            r'src="(/static/[^"]+)"', boss.get(pages["voterroll:index"])[1].decode()
        )
        fetched_assets = {path: boss.get(path)[0] for path in assets}
        plain_http = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
        plain_http.request("GET", "/posts/")
        redirect = plain_http.getresponse()

    assert public == dict.fromkeys(PUBLIC, 200)
    assert {path: status for path, status in signed_in.items() if status != 200} == {}
    assert any(re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", a) for a in assets), assets
    assert fetched_assets and set(fetched_assets.values()) == {200}
    # Plain HTTP is sent to HTTPS; the probe paths are not.
    assert redirect.status == 301
    assert redirect.getheader("Location") == f"https://{urlsplit(base).netloc}/posts/"


def test_the_static_step_is_one_script_shared_with_make_run():
    assert dockerfile_static_step() == "bin/collectstatic"
    makefile = (ROOT / "Makefile").read_text()
    assert "bin/collectstatic" in makefile
    assert Path(ROOT / "bin" / "collectstatic").stat().st_mode & 0o111
