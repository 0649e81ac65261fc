"""Outings fixtures: outings and participants, and a loopback server playing the X API."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from outings.models import Outing, Participant, Tweet
from tests.support.services import needs_services

TOKEN = "test-bearer-token"


class FakeX:
    """Answers ``POST /2/tweets`` from a script of statuses; the last one repeats."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.script: list[tuple[int, dict[str, str]]] = [(201, {})]
        self.lock = threading.Lock()
        self.ids = itertools.count(1_000_000)
        self.bodies: list[dict] = []
        server.expect_request("/2/tweets", method="POST").respond_with_handler(self._answer)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Set the statuses the next requests get, in order."""
        self.script = [s if isinstance(s, tuple) else (s, {}) for s in statuses]

    def _answer(self, request: Request) -> Response:
        with self.lock:
            self.bodies.append(json.loads(request.data))
            status, headers = self.script[0] if len(self.script) == 1 else self.script.pop(0)
            tweet_id = str(next(self.ids))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, headers = 401, {}
        if status == 201:
            body = {"data": {"id": tweet_id, "text": self.bodies[-1]["text"]}}
        elif status == 401:
            body = {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
        elif status == 429:
            body = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
        else:
            body = {
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "status": status,
            }
        return Response(
            json.dumps(body),
            status=status,
            headers=headers,
            content_type="application/problem+json",
        )

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]


@pytest.fixture(autouse=True)
def empty_tweet_rate_window(request):
    """Start every test with TWEET_RATE_LIMIT's cluster-wide window empty."""
    from django.conf import settings

    if not needs_services(request.node):
        return
    redis.Redis.from_url(settings.REDIS_URL).delete("ratelimit:outings.post_tweet")


@pytest.fixture(autouse=True)
def empty_account_rate_windows(request):
    """Start every test with no outing created or joined in the per-account windows.

    Account ids start again at 1 in every run's new database, while Redis keeps windows.
    """
    from django.conf import settings

    if not needs_services(request.node):
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("ratelimit:outings.create:*", "ratelimit:outings.join:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture
def x_api(httpserver: HTTPServer, settings) -> FakeX:
    """Point TWEET_BACKEND at the X API backend, talking to a loopback server."""
    settings.TWEET_BACKEND = "outings.twitter.XBackend"
    settings.X_API_BASE_URL = httpserver.url_for("/")
    settings.X_API_BEARER_TOKEN = TOKEN
    settings.X_API_CONNECT_TIMEOUT = 1
    settings.X_API_READ_TIMEOUT = 2
    return FakeX(httpserver)


@pytest.fixture
def fast_retries(monkeypatch):
    """Shrink the post_tweet backoff to tenths of a second so retries finish in a test."""
    from outings.tasks import post_tweet

    monkeypatch.setattr(post_tweet, "retry_backoff", 0.1)
    monkeypatch.setattr(post_tweet, "retry_backoff_max", 0.4)
    return post_tweet


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("ada", password="a-long-test-password")


@pytest.fixture
def make_outing(user) -> Callable[..., Outing]:
    def make(**fields) -> Outing:
        fields.setdefault("title", "Picnic in the park")
        fields.setdefault("place", "Parc Monceau")
        fields.setdefault("starts_at", timezone.now() + timedelta(hours=2))
        fields.setdefault("created_by", user)
        return Outing.objects.create(**fields)

    return make


@pytest.fixture
def make_participant() -> Callable[..., Participant]:
    counter = itertools.count(1)

    def make(outing: Outing, **fields) -> Participant:
        n = next(counter)
        fields.setdefault("name", f"Person {n}")
        fields.setdefault("handle", f"person_{n}")
        return Participant.objects.create(outing=outing, **fields)

    return make


def wait_until(condition: Callable[[], bool], *, timeout: float = 20, what: str = "") -> None:
    """Poll until the condition holds; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what or condition}")
        time.sleep(0.05)


def tweet_states() -> dict[str, str]:
    return dict(Tweet.objects.values_list("idempotency_key", "state"))
