"""Sending a tweet: the backoff, and the claim that sends each tweet once."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from outings import sending, tweets
from outings.backends import TweetBusy, TweetDeferred
from outings.models import Tweet


def test_backoff_grows_with_each_retry_and_stays_under_the_cap():
    # base 2: exponential steps 2, 4, 8, 16, 32, then the cap of 60 from retry 5 on.
    waits = [[sending.retry_countdown(n, base=2, cap=60) for _ in range(200)] for n in range(10)]

    for earlier, later in itertools.pairwise(waits[:5]):
        assert max(earlier) <= min(later)
    assert 1 <= min(waits[0]) <= max(waits[0]) <= 2
    assert all(30 <= wait <= 60 for row in waits[5:] for wait in row)
    assert len({round(w, 6) for w in waits[3]}) > 1, "no jitter"


def test_retry_after_is_a_floor_bounded_by_the_longest_countdown(settings):
    assert sending.retry_countdown(0, base=1, cap=10, retry_after=30) == 30
    assert sending.retry_countdown(0, base=1, cap=10, retry_after=10**6) == (
        settings.CELERY_LONGEST_COUNTDOWN
    )
    assert sending.retry_countdown(5, base=1, cap=10, retry_after=0.5) >= 5


def test_sending_twice_posts_once(announcement, x_api):
    assert sending.send(tweet_id=announcement.pk) == "sent"
    assert sending.send(tweet_id=announcement.pk) == "sent"

    assert x_api.requests == 1
    announcement.refresh_from_db()
    assert announcement.attempts == 1
    assert announcement.remote_id == "1000000"
    assert announcement.claimed_until is None


def test_a_tweet_claimed_by_another_worker_is_not_sent_but_looked_at_again_later(
    announcement, x_api
):
    assert sending.claim(announcement.pk)

    with pytest.raises(TweetBusy) as caught:
        sending.send(tweet_id=announcement.pk)

    assert x_api.requests == 0
    assert 80 < caught.value.retry_after <= sending.CLAIM_LEASE.total_seconds()


def test_a_claim_whose_worker_died_lapses(announcement, x_api):
    assert sending.claim(announcement.pk)
    # The worker died holding the claim; its lease ran out a second ago.
    Tweet.objects.filter(pk=announcement.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )

    assert sending.send(tweet_id=announcement.pk) == "sent"
    assert x_api.requests == 1


def test_a_temporary_failure_leaves_the_tweet_retrying_then_failed(announcement, x_api):
    x_api.answer(503)

    with pytest.raises(TweetDeferred, match="503"):
        sending.send(tweet_id=announcement.pk)
    announcement.refresh_from_db()
    assert (announcement.state, announcement.attempts) == ("retrying", 1)

    assert sending.send(tweet_id=announcement.pk, last_attempt=True) == "failed"
    announcement.refresh_from_db()
    assert (announcement.state, announcement.attempts) == ("failed", 2)
    assert announcement.last_error == "X API 503: Service Unavailable"


def test_a_rejected_tweet_fails_at_once_with_the_api_message(announcement, x_api):
    x_api.answer(401)

    assert sending.send(tweet_id=announcement.pk) == "failed"

    announcement.refresh_from_db()
    assert announcement.last_error == "X API 401: Unauthorized"
    assert x_api.requests == 1


def _reminder(participant):
    tweet, _ = tweets.record(
        key=f"reminder:{participant.pk}",
        kind="reminder",
        text="soon",
        outing=participant.outing,
        participant=participant,
    )
    return tweet


def test_a_reminder_marks_the_participant_reminded_only_once_sent(
    make_outing, make_participant, x_api
):
    participant = make_participant(make_outing())
    tweet = _reminder(participant)
    x_api.answer(503, 201)

    with pytest.raises(TweetDeferred):
        sending.send(tweet_id=tweet.pk)
    participant.refresh_from_db()
    assert participant.reminded_at is None

    sending.send(tweet_id=tweet.pk)
    participant.refresh_from_db()
    assert participant.reminded_at is not None


def test_a_reminder_for_an_outing_that_has_started_is_dropped(make_outing, make_participant, x_api):
    participant = make_participant(make_outing())
    tweet = _reminder(participant)

    with time_machine.travel(participant.outing.starts_at + timedelta(minutes=1)):
        assert sending.send(tweet_id=tweet.pk) == "failed"

    tweet.refresh_from_db()
    assert tweet.last_error.startswith("Dropped: the outing started")
    assert x_api.requests == 0
