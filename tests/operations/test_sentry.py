"""Sentry: a worker's task failure reaches a Sentry-speaking server only when SENTRY_DSN is set."""

import gzip
import zlib

import sentry_sdk

from tests.processes import worker_process
from tests.support.waiting import wait_until
from tests.tasks import outcome


def _body(request) -> bytes:
    data = request.get_data()
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    return data


def test_task_failure_in_a_worker_is_sent_to_sentry(subprocess_env, httpserver):
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_json({})
    dsn = f"http://publickey@127.0.0.1:{httpserver.port}/1"
    env = {**subprocess_env, "SENTRY_DSN": dsn, "WORKER_QUEUES": "sentry-test"}

    with worker_process(env, args=("--pool", "solo")):
        outcome.apply_async(("fail",), queue="sentry-test").get(timeout=30, propagate=False)

        def failure_event() -> bytes | None:
            bodies = (_body(request) for request, _ in httpserver.log)
            return next((body for body in bodies if b"asked to fail" in body), None)

        event = wait_until(failure_event, timeout=20, interval=0.2, what="Sentry's failure event")

    assert b"ValueError" in event
    assert b"tests.outcome" in event


def test_sentry_is_off_without_a_dsn():
    assert not sentry_sdk.get_client().is_active()
