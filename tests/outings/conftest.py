"""Outings fixtures: outings and participants, and the loopback X API (tests.support.x_api)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from pytest_httpserver import HTTPServer

from outings import tweets
from outings.models import Outing, Participant, Tweet
from tests.support.services import needs_services
from tests.support.x_api import TOKEN, FakeX


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


@pytest.fixture
def announcement(make_outing) -> Tweet:
    """A recorded, queued announcement tweet of a new outing."""
    outing = make_outing()
    tweet, _ = tweets.record(
        key=f"announce:{outing.pk}", kind="announcement", text="Hi", outing=outing
    )
    return tweet
