"""Pluggable tweet senders, chosen by ``TWEET_BACKEND`` as Django chooses ``EMAIL_BACKEND``."""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class TweetDeferred(Exception):
    """The tweet could not be sent now but may be later (network error, 429, 5xx)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TweetBusy(TweetDeferred):
    """Another worker holds the tweet's claim; look again once the claim could have lapsed."""


class TweetRejected(Exception):
    """The tweet was refused for good (bad credentials, forbidden, invalid); never retry."""


class TweetBackend(Protocol):
    def post(self, text: str, *, idempotency_key: str) -> str:
        """Publish one tweet and return its id at the destination."""
        ...


class DatabaseBackend:
    """Record tweets in the database only: the Tweet row is the whole record."""

    def post(self, text: str, *, idempotency_key: str) -> str:
        """Accept the tweet without sending it anywhere."""
        return f"local:{idempotency_key}"


def get_backend() -> TweetBackend:
    """Instantiate the backend named by ``TWEET_BACKEND``."""
    return import_string(settings.TWEET_BACKEND)()
