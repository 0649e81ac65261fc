"""The X API v2 backend against a loopback server speaking the API."""

from __future__ import annotations

import json
import time
from email.utils import format_datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from werkzeug import Response

from outings.backends import TweetDeferred, TweetRejected
from outings.twitter import XBackend
from tests.processes import free_port
from tests.support.x_api import TOKEN


def test_posts_json_with_the_bearer_token_and_returns_the_tweet_id(x_api):
    tweet_id = XBackend().post("Hello from Backlot", idempotency_key="announce:1")

    assert tweet_id == "1000000"
    request, _ = x_api.server.log[0]
    assert request.method == "POST"
    assert request.path == "/2/tweets"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.data) == {"text": "Hello from Backlot"}


def test_429_is_deferred_for_as_long_as_retry_after_says(x_api):
    x_api.answer((429, {"Retry-After": "17"}))

    with pytest.raises(TweetDeferred, match="429: Too Many Requests") as caught:
        XBackend().post("hi", idempotency_key="k")

    assert caught.value.retry_after == 17


def test_retry_after_may_be_an_http_date(x_api):
    later = timezone.now() + timezone.timedelta(seconds=120)
    x_api.answer((429, {"Retry-After": format_datetime(later, usegmt=True)}))

    with pytest.raises(TweetDeferred) as caught:
        XBackend().post("hi", idempotency_key="k")

    assert 100 < caught.value.retry_after <= 120


def test_5xx_is_deferred(x_api):
    x_api.answer(503)

    with pytest.raises(TweetDeferred, match="503: Service Unavailable") as caught:
        XBackend().post("hi", idempotency_key="k")

    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403])
def test_client_errors_are_rejected_with_the_api_message(x_api, status):
    x_api.answer(status)

    with pytest.raises(TweetRejected, match=f"X API {status}: "):
        XBackend().post("hi", idempotency_key="k")


def test_the_api_reason_is_read_from_its_errors_list(x_api):
    body = {
        "errors": [{"message": "You are not allowed to create a Tweet with duplicate content."}]
    }
    x_api.server.clear_all_handlers()
    x_api.server.expect_request("/2/tweets").respond_with_json(body, status=403)

    with pytest.raises(TweetRejected, match="duplicate content"):
        XBackend().post("hi", idempotency_key="k")


def test_a_server_that_refuses_connections_is_deferred(x_api, settings):
    settings.X_API_BASE_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(TweetDeferred, match="unreachable"):
        XBackend().post("hi", idempotency_key="k")


def test_a_server_slower_than_the_read_timeout_is_deferred(x_api, settings):
    settings.X_API_READ_TIMEOUT = 0.2

    def slow(request):
        time.sleep(0.6)
        return Response("{}", status=201)

    x_api.server.clear_all_handlers()
    x_api.server.expect_request("/2/tweets").respond_with_handler(slow)

    with pytest.raises(TweetDeferred, match="unreachable"):
        XBackend().post("hi", idempotency_key="k")


def test_missing_token_is_a_configuration_error_naming_the_variable(settings):
    settings.X_API_BEARER_TOKEN = ""

    with pytest.raises(ImproperlyConfigured, match="X_API_BEARER_TOKEN is not set"):
        XBackend()
