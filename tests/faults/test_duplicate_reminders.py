"""Deliver the reminder job and every reminder's send twice: one tweet request per key."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from outings.models import Outing, Participant, Tweet
from outings.tasks import post_tweet, send_due_reminders
from tests.faults.conftest import wait_for
from tests.faults.tasks import QUEUE
from tests.faults.test_duplicate_deliveries import publish_twice, queues_empty
from tests.outings.conftest import TOKEN, FakeX
from tests.processes import worker_process
from tests.tasking.tasks import redis

OUTINGS = 3
PER_OUTING = 3


@pytest.mark.faults
def test_reminders_delivered_twice_are_tweeted_once_per_participant(
    faults_env, own_rabbitmq, publish, httpserver, django_user_model, fault_row
):
    x_api = FakeX(httpserver)
    redis().delete("ratelimit:outings.post_tweet")
    user = django_user_model.objects.create_user("faults", password="a-long-test-password")
    # bulk_create: no post_save, so nothing is published to the machine's broker.
    outings = Outing.objects.bulk_create(
        Outing(
            title=f"Outing {n}",
            place="Parc Monceau",
            starts_at=timezone.now() + timedelta(hours=2),
            created_by=user,
        )
        for n in range(OUTINGS)
    )
    participants = Participant.objects.bulk_create(
        Participant(outing=outing, name=f"P {n}", handle=f"o{outing.pk}p{n}")
        for outing in outings
        for n in range(PER_OUTING)
    )
    env = {
        **faults_env,
        # post_tweet, queued by send_due_reminders, goes to the notifications queue.
        "WORKER_QUEUES": f"{QUEUE},notifications",
        "TWEET_BACKEND": "outings.twitter.XBackend",
        "X_API_BASE_URL": httpserver.url_for("/"),
        "X_API_BEARER_TOKEN": TOKEN,
    }
    reminders = Tweet.objects.filter(kind=Tweet.Kind.REMINDER)

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        # The job twice under one id; each run queues its own post_tweet per reminder.
        publish_twice(publish, send_due_reminders)
        wait_for(
            lambda: reminders.count() == len(participants),
            timeout=60,
            message="every reminder to be recorded",
        )
        # And every reminder's send twice more, as redeliveries of a lost ack would.
        for tweet_id in reminders.values_list("pk", flat=True):
            publish_twice(publish, post_tweet, tweet_id)
        wait_for(
            lambda: reminders.filter(state=Tweet.State.SENT).count() == len(participants),
            timeout=120,
            message="every reminder to be sent",
        )
        wait_for(
            lambda: queues_empty(own_rabbitmq.url, QUEUE, "notifications"),
            timeout=60,
            message="the queues to drain",
        )
    recovery = time.monotonic() - started

    texts = x_api.texts()
    seen = {}
    for n, participant in enumerate(participants):
        sent = sum(1 for text in texts if text.startswith(f"@{participant.handle} reminder:"))
        if sent:
            seen[n] = sent
    row = fault_row(
        scenario="duplicate delivery: reminders",
        done=f"send_due_reminders published twice, then each of {len(participants)} "
        "reminders' post_tweet twice more",
        expected=len(participants),
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert x_api.requests == len(participants)
    assert sorted(reminders.values_list("idempotency_key", flat=True)) == sorted(
        f"reminder:{p.pk}" for p in participants
    )
