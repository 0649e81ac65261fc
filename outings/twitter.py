"""The X API v2 adapter: the only module that knows how X wants a tweet posted."""

from __future__ import annotations

import json
import logging
from email.utils import parsedate_to_datetime

import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from outings.backends import TweetDeferred, TweetRejected

logger = logging.getLogger(__name__)


class XBackend:
    """Post tweets with ``POST /2/tweets`` and an OAuth 2.0 user-context bearer token."""

    def __init__(self) -> None:
        if not settings.X_API_BEARER_TOKEN:
            raise ImproperlyConfigured(
                "TWEET_BACKEND is outings.twitter.XBackend but X_API_BEARER_TOKEN is not set: "
                "set it to the account's OAuth 2.0 access token."
            )
        self.url = settings.X_API_BASE_URL.rstrip("/") + "/2/tweets"
        self.token = settings.X_API_BEARER_TOKEN
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=settings.X_API_CONNECT_TIMEOUT, read=settings.X_API_READ_TIMEOUT
            ),
            # The task retries with backoff; urllib3 retrying inside it would hold the slot.
            retries=False,
        )

    def post(self, text: str, *, idempotency_key: str) -> str:
        """Publish one tweet and return X's id for it."""
        try:
            response = self.http.request(
                "POST",
                self.url,
                body=json.dumps({"text": text}).encode(),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TweetDeferred(f"X API unreachable: {exc}") from exc

        status = response.status
        if status in {200, 201}:
            try:
                return str(response.json()["data"]["id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise TweetRejected(f"X API answered {status} without a tweet id") from exc
        message = f"X API {status}: {_error_message(response)}"
        if status == 429:
            raise TweetDeferred(message, retry_after=_retry_after(response.headers))
        if status >= 500:
            raise TweetDeferred(message, retry_after=_retry_after(response.headers))
        raise TweetRejected(message)


def _error_message(response: urllib3.BaseHTTPResponse) -> str:
    """Pull X's human-readable reason out of a problem+json error body."""
    try:
        body = response.json()
    except ValueError:
        return response.data.decode(errors="replace")[:300] or response.reason or ""
    if not isinstance(body, dict):
        return str(body)[:300]
    errors = body.get("errors") or []
    details = [e.get("message") or e.get("detail") for e in errors if isinstance(e, dict)]
    text = body.get("detail") or body.get("title") or "; ".join(d for d in details if d)
    return str(text or body)[:300]


def _retry_after(headers: urllib3.HTTPHeaderDict) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or an HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        logger.warning("ignoring unreadable Retry-After %r", value)
        return None
    return max(0.0, (when - timezone.now()).total_seconds())
