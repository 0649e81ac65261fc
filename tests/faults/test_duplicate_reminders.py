"""Deliver the reminder job and every reminder's send twice: one tweet request per key."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from outings.models import Tweet
from outings.tasks import post_tweet, send_due_reminders
from tests.faults.tasks import QUEUE
from tests.processes import worker_process
from tests.support.faults import publish_twice, quiet_outings, reminders_seen, wait_for_drain
from tests.support.waiting import wait_until

OUTINGS = 3
PER_OUTING = 3


@pytest.mark.faults
def test_reminders_delivered_twice_are_tweeted_once_per_participant(
    faults_env, own_rabbitmq, publish, x_api, x_api_env, user, fault_row
):
    _, participants = quiet_outings(
        user, [timezone.now() + timedelta(hours=2)] * OUTINGS, participants=PER_OUTING
    )
    env = {
        **faults_env,
        **x_api_env,
        # post_tweet, queued by send_due_reminders, goes to the notifications queue.
        "WORKER_QUEUES": f"{QUEUE},notifications",
    }
    reminders = Tweet.objects.filter(kind=Tweet.Kind.REMINDER)

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        # The job twice under one id; each run queues its own post_tweet per reminder.
        publish_twice(publish, send_due_reminders)
        wait_until(
            lambda: reminders.count() == len(participants),
            timeout=60,
            what="every reminder to be recorded",
        )
        # And every reminder's send twice more, as redeliveries of a lost ack would.
        for tweet_id in reminders.values_list("pk", flat=True):
            publish_twice(publish, post_tweet, tweet_id)
        wait_until(
            lambda: reminders.filter(state=Tweet.State.SENT).count() == len(participants),
            timeout=120,
            what="every reminder to be sent",
        )
        wait_for_drain(own_rabbitmq.url, QUEUE, "notifications")
    recovery = time.monotonic() - started

    texts = x_api.texts()
    seen = reminders_seen(texts, participants)
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
