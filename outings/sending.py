"""Sending a recorded tweet at most once: a lease on its row, one call to X, the outcome.

A worker takes a tweet with a lease (``claim``): one conditional UPDATE that only a
queued or retrying tweet whose lease has lapsed matches, so two deliveries of one
message, or a staff retry during a send, never send it twice. A lease lapses after
``CLAIM_LEASE``, so a tweet whose worker died is sent by the redelivered message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from outings.backends import TweetBusy, TweetDeferred, TweetRejected, get_backend
from outings.models import Participant, Tweet
from tasking import backoff

logger = logging.getLogger(__name__)

# How long a claim lasts: past the task's hard time limit its worker is surely gone.
CLAIM_LEASE = timedelta(seconds=90)
PENDING = (Tweet.State.QUEUED, Tweet.State.RETRYING)


def retry_countdown(
    retries: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number ``retries + 1`` (tasking.backoff's curve).

    A server's Retry-After is a floor, bounded by the longest countdown the broker
    settings allow for.
    """
    countdown = backoff.countdown(retries, base=base, cap=cap)
    if retry_after is not None:
        countdown = max(countdown, min(retry_after, settings.CELERY_LONGEST_COUNTDOWN))
    return countdown


def claim(tweet_id: int) -> bool:
    """Take the tweet for this worker with one conditional UPDATE; False if someone has it."""
    return bool(
        Tweet.objects.filter(pk=tweet_id, state__in=PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=Now()))
        .update(claimed_until=timezone.now() + CLAIM_LEASE, next_attempt_at=None)
    )


def send(*, tweet_id: int, last_attempt: bool = False) -> Tweet.State | None:
    """Send one tweet unless it is sent, being sent, or failed; return its state after.

    Returns None when the tweet no longer exists. Raises TweetDeferred when a later
    attempt may succeed (the caller schedules it); on the last attempt the tweet is
    marked failed instead. Raises TweetBusy when another worker holds the claim.
    """
    if not claim(tweet_id):
        return _not_claimed(tweet_id)
    tweet = Tweet.objects.select_related("outing").get(pk=tweet_id)
    if tweet.kind == Tweet.Kind.REMINDER and (tweet.outing is None or tweet.outing.has_started()):
        _update(tweet, state=Tweet.State.FAILED, last_error=_dropped(tweet), claimed_until=None)
        return Tweet.State.FAILED
    attempts = tweet.attempts + 1
    try:
        # The one call that leaves the process (TWEET_RATE_LIMIT gates post_tweet).
        remote_id = get_backend().post(tweet.text, idempotency_key=tweet.idempotency_key)
    except TweetRejected as exc:
        return _failed(tweet, attempts, exc)
    except TweetDeferred as exc:
        if last_attempt:
            return _failed(tweet, attempts, exc)
        _update(
            tweet,
            state=Tweet.State.RETRYING,
            attempts=attempts,
            last_error=str(exc),
            claimed_until=None,
        )
        raise
    _record_sent(tweet, attempts, remote_id)
    return Tweet.State.SENT


def _not_claimed(tweet_id: int) -> Tweet.State | None:
    """Say why a tweet could not be claimed: gone (None), finished (its state), or held."""
    row = Tweet.objects.filter(pk=tweet_id).values("state", "claimed_until").first()
    if row is None:
        logger.info("tweet %s not claimed: it was deleted", tweet_id)
        return None
    if row["state"] in PENDING and row["claimed_until"]:
        # The holder may be a worker that just died (its message is this redelivery):
        # come back when its claim lapses rather than ack and lose the tweet.
        wait = max(1.0, (row["claimed_until"] - timezone.now()).total_seconds())
        logger.info("tweet %s not claimed: another worker holds it for %.0fs", tweet_id, wait)
        raise TweetBusy("another worker is sending this tweet", retry_after=wait)
    logger.info("tweet %s not claimed (state %s): nothing to do", tweet_id, row["state"])
    return Tweet.State(row["state"])


def _failed(tweet: Tweet, attempts: int, exc: Exception) -> Tweet.State:
    """Record that X refused the tweet for good, or that its last attempt failed."""
    _update(
        tweet, state=Tweet.State.FAILED, attempts=attempts, last_error=str(exc), claimed_until=None
    )
    return Tweet.State.FAILED


def _record_sent(tweet: Tweet, attempts: int, remote_id: str) -> None:
    """Mark the tweet sent, and its participant reminded when it is a reminder."""
    with transaction.atomic():
        now = timezone.now()
        _update(
            tweet,
            state=Tweet.State.SENT,
            attempts=attempts,
            last_error="",
            remote_id=remote_id,
            sent_at=now,
            claimed_until=None,
        )
        if tweet.participant_id:
            Participant.objects.filter(pk=tweet.participant_id, reminded_at__isnull=True).update(
                reminded_at=now
            )


def _dropped(tweet: Tweet) -> str:
    when = timezone.localtime(tweet.outing.starts_at) if tweet.outing else None
    return f"Dropped: the outing started ({when:%Y-%m-%d %H:%M}) before the reminder was sent."


def _update(tweet: Tweet, **fields: object) -> None:
    Tweet.objects.filter(pk=tweet.pk).update(**fields)
