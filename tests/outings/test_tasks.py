"""The outings tasks on a real worker over RabbitMQ, posting to a loopback X API."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import timedelta

import pytest
from celery import group
from celery.exceptions import TimeLimitExceeded
from django.urls import reverse
from django.utils import timezone

from outings.models import Tweet
from outings.tasks import announce_outing, post_tweet, send_due_reminders
from outings.tweets import record
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("worker")

RETRY_LINE = re.compile(r"tweet \d+: retry (\d+) in ([\d.]+)s")


def _sent(key: str) -> bool:
    return Tweet.objects.filter(idempotency_key=key, state="sent").exists()


def _countdowns(caplog) -> list[float]:
    lines = [RETRY_LINE.fullmatch(r.getMessage()) for r in caplog.records]
    return [float(m.group(2)) for m in lines if m]


def _timeline_row(client, tweet: Tweet) -> str:
    html = client.get(reverse("outings:timeline")).content.decode()
    return re.search(rf'<tr id="tweet-{tweet.pk}" class="tweet (\w+)">', html).group(1)


def test_creating_an_outing_posts_exactly_one_announcement(x_api, make_outing):
    outing = make_outing(title="Night walk")
    key = f"announce:{outing.pk}"
    wait_until(lambda: _sent(key), what="the announcement")

    # Run the whole path again, as a redelivery or a second click would.
    announce_outing.delay(outing.pk).get(timeout=20)
    post_tweet.delay(Tweet.objects.get(idempotency_key=key).pk).get(timeout=20)

    assert x_api.requests == 1
    assert "Night walk" in x_api.texts()[0]


def test_503s_are_retried_with_growing_bounded_backoff_until_sent(
    x_api, fast_retries, make_outing, caplog, client
):
    caplog.set_level(logging.INFO, logger="outings.tasks")
    x_api.answer(503, 503, 503, 201)

    outing = make_outing()
    wait_until(lambda: _sent(f"announce:{outing.pk}"), what="the announcement after 503s")

    tweet = Tweet.objects.get(idempotency_key=f"announce:{outing.pk}")
    assert x_api.requests == 4
    assert (tweet.attempts, tweet.last_error) == (4, "")
    waits = _countdowns(caplog)
    assert len(waits) == 3
    # Equal jitter on a 0.1 s base: 0.05-0.1, then 0.1-0.2, then 0.2-0.4 (the cap).
    assert waits == sorted(waits)
    assert all(w <= fast_retries.retry_backoff_max for w in waits)
    assert _timeline_row(client, tweet) == "sent"


def test_429_waits_at_least_as_long_as_retry_after(x_api, fast_retries, make_outing, caplog):
    caplog.set_level(logging.INFO, logger="outings.tasks")
    x_api.answer((429, {"Retry-After": "1"}), 201)

    outing = make_outing()
    wait_until(lambda: _sent(f"announce:{outing.pk}"), what="the announcement after a 429")

    assert x_api.requests == 2
    [wait] = _countdowns(caplog)
    assert wait >= 1


def test_401_fails_at_once_without_a_retry(x_api, fast_retries, make_outing, caplog, client):
    caplog.set_level(logging.INFO, logger="outings.tasks")
    x_api.answer(401)

    outing = make_outing()
    key = f"announce:{outing.pk}"
    wait_until(lambda: Tweet.objects.filter(idempotency_key=key, state="failed").exists())
    # Any retry would have been published before the state was written.
    post_tweet.delay(Tweet.objects.get(idempotency_key=key).pk).get(timeout=20)

    tweet = Tweet.objects.get(idempotency_key=key)
    assert x_api.requests == 1
    assert (tweet.attempts, tweet.last_error) == (1, "X API 401: Unauthorized")
    assert _countdowns(caplog) == []
    assert _timeline_row(client, tweet) == "failed"


def test_a_tweet_that_keeps_failing_ends_failed_after_max_retries(
    x_api, fast_retries, make_outing, monkeypatch
):
    monkeypatch.setattr(post_tweet, "max_retries", 2)
    x_api.answer(503)

    outing = make_outing()
    key = f"announce:{outing.pk}"
    wait_until(lambda: Tweet.objects.filter(idempotency_key=key, state="failed").exists())

    assert x_api.requests == 3
    assert Tweet.objects.get(idempotency_key=key).last_error == "X API 503: Service Unavailable"


def test_two_reminder_runs_at_once_send_one_reminder_per_participant(
    x_api, make_outing, make_participant
):
    soon = make_outing(title="Soon", starts_at=timezone.now() + timedelta(hours=3))
    far = make_outing(title="Far", starts_at=timezone.now() + timedelta(days=3))
    due = [make_participant(soon, handle=f"due_{n}") for n in range(4)]
    make_participant(soon, handle="opted_out", wants_reminder=False)
    make_participant(far, handle="far_away")

    runs = group(send_due_reminders.s(), send_due_reminders.s()).apply_async()

    assert sum(runs.get(timeout=30)) == 4
    wait_until(
        lambda: all(_sent(f"reminder:{p.pk}") for p in due), what="every due participant's reminder"
    )
    reminders = [text for text in x_api.texts() if " reminder: " in text]
    assert sorted(text.split()[0] for text in reminders) == [f"@due_{n}" for n in range(4)]
    assert send_due_reminders.delay().get(timeout=20) == 0
    assert all(p.tweets.get().state == "sent" for p in due)


def test_a_post_tweet_message_delivered_twice_posts_once(
    x_api, make_outing, make_participant, caplog
):
    caplog.set_level(logging.INFO, logger="outings.sending")
    participant = make_participant(make_outing())
    tweet, _ = record(
        key=f"reminder:{participant.pk}",
        kind="reminder",
        text="twice?",
        outing=participant.outing,
        participant=participant,
    )
    task_id = str(uuid.uuid4())

    post_tweet.apply_async((tweet.pk,), task_id=task_id)
    post_tweet.apply_async((tweet.pk,), task_id=task_id)

    def skipped() -> bool:
        return any(
            r.getMessage().startswith(f"tweet {tweet.pk} not claimed") for r in caplog.records
        )

    wait_until(lambda: _sent(tweet.idempotency_key) and skipped(), what="both deliveries")
    assert x_api.texts().count("twice?") == 1


def test_a_tweet_held_by_a_dead_worker_is_sent_once_its_claim_lapses(
    x_api, fast_retries, make_outing, make_participant
):
    participant = make_participant(make_outing())
    tweet, _ = record(
        key=f"reminder:{participant.pk}",
        kind="reminder",
        text="orphaned",
        outing=participant.outing,
        participant=participant,
    )
    # A worker claimed the tweet and died; its lease runs out a second from now.
    Tweet.objects.filter(pk=tweet.pk).update(claimed_until=timezone.now() + timedelta(seconds=1))

    post_tweet.delay(tweet.pk)

    wait_until(lambda: _sent(tweet.idempotency_key), what="the redelivered tweet")
    assert x_api.texts().count("orphaned") == 1


def test_a_full_cluster_rate_window_holds_tweets_back_without_using_retries(
    x_api, make_outing, settings
):
    from tasking import ratelimit

    rate = ratelimit.parse_rate(settings.TWEET_RATE_LIMIT)
    for _ in range(rate.count):  # starts by other workers fill the window
        assert ratelimit.try_start("outings.post_tweet", rate) == 0

    outing = make_outing()
    key = f"announce:{outing.pk}"
    wait_until(
        lambda: Tweet.objects.filter(idempotency_key=key).exists(), what="the announcement row"
    )
    # Give the worker time to receive and re-schedule the send.
    announce_outing.delay(outing.pk).get(timeout=20)
    time.sleep(1)

    tweet = Tweet.objects.get(idempotency_key=key)
    assert x_api.requests == 0
    assert tweet.state == "queued"
    assert tweet.attempts == 0


def test_a_killed_send_marks_the_tweet_failed_with_a_reason(make_outing):
    # What the worker's main process calls after the hard limit or the last lost child.
    outing = make_outing(title="Night walk")
    tweet, _ = record(key=f"killed:{outing.pk}", kind="announcement", text="hi", outing=outing)

    post_tweet.on_failure(TimeLimitExceeded(60), "task-id", (tweet.pk,), {}, None)

    tweet.refresh_from_db()
    assert tweet.state == "failed"
    assert tweet.claimed_until is None
    assert tweet.last_error.startswith("Stopped before X answered (TimeLimitExceeded)")
