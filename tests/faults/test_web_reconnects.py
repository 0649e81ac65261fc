"""The web process publishes before and after a RabbitMQ restart, reconnecting by itself."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, build_opener

import pytest
from django.utils import timezone
from kombu import Connection

from outings.models import Outing
from outings.tasks import announce_outing
from tasking.models import OutboxMessage
from tests.processes import web_process
from tests.support.waiting import wait_until

PASSWORD = "a-long-test-password"


def post_form(opener: OpenerDirector, url: str, fields: dict[str, str]) -> str:
    """GET a form for its CSRF token, POST it with ``fields``; return the final page."""
    with opener.open(url, timeout=30) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
    assert token, f"no CSRF token on {url}"
    body = urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
    with opener.open(url, data=body, timeout=30) as page:
        return page.read().decode()


def create_outing(opener: OpenerDirector, base: str, title: str) -> None:
    starts = timezone.localtime(timezone.now() + timedelta(days=2))
    post_form(
        opener,
        f"{base}/outings/new/",
        {"title": title, "place": "Parc Monceau", "starts_at": f"{starts:%Y-%m-%dT%H:%M}"},
    )


def queued(url: str, queue: str) -> int:
    with Connection(url) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


@pytest.mark.faults
def test_the_web_process_publishes_again_after_a_broker_restart(
    faults_env, own_rabbitmq, django_user_model, fault_row
):
    django_user_model.objects.create_user("web", password=PASSWORD)
    announcements = OutboxMessage.objects.filter(task_name=announce_outing.name)
    sent = announcements.filter(sent_at__isnull=False)
    opener = build_opener(HTTPCookieProcessor(CookieJar()))

    with web_process(faults_env) as base:
        post_form(opener, f"{base}/accounts/login/", {"username": "web", "password": PASSWORD})
        create_outing(opener, base, "Before the restart")
        wait_until(lambda: sent.count() == 1, timeout=30, what="the first publish")

        own_rabbitmq.stop()
        own_rabbitmq.start()
        up = time.monotonic()
        # No relay runs here: only the web process's own publish can mark the row sent.
        create_outing(opener, base, "After the restart")
        wait_until(lambda: sent.count() == 2, timeout=30, what="the web to publish again")
        recovery = time.monotonic() - up

    try:
        waiting = queued(own_rabbitmq.url, "notifications")
    finally:
        with Connection(own_rabbitmq.url) as conn:
            conn.default_channel.queue_purge("notifications")
    # One effect per outing on the node; any message past two counts as a duplicate.
    seen = {n: 1 for n in range(min(waiting, 2))}
    if waiting > 2:
        seen[0] += waiting - 2
    row = fault_row(
        scenario="broker restart: web",
        done="the web created an outing before and after a RabbitMQ restart",
        expected=2,
        seen=seen,
        recovery_s=recovery,
    )
    assert Outing.objects.count() == announcements.count() == 2
    # Both announcements are on the node: the first survived the restart (durable).
    assert waiting == 2
    assert row["lost"] == 0
