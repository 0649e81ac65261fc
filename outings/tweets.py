"""Tweets: fitting text to X's limit, recording rows, claiming and sending them once."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from outings.backends import TweetBusy, TweetDeferred, TweetRejected, get_backend
from outings.models import Outing, Participant, Tweet
from tasking import backoff

logger = logging.getLogger(__name__)

# 280: X's maxWeightedTweetLength (twitter-text v3 configuration).
MAX_WEIGHT = 280
# twitter-text v3: code points in these ranges weigh 1, every other code point weighs 2.
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# twitter-text v3: every link weighs 23 (t.co length), however long or short it is.
LINK_WEIGHT = 23
LINK = re.compile(r"https?://\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b(?:/\S*)?", re.IGNORECASE)
ELLIPSIS = "…"
# How long a claim lasts: past the task's hard time limit its worker is surely gone.
CLAIM_LEASE = timedelta(seconds=90)


def weighted_length(text: str) -> int:
    """Weigh text as X does, erring heavy so a text that fits here fits on X."""
    text = unicodedata.normalize("NFC", text)
    weight = 0
    position = 0
    for link in LINK.finditer(text):
        weight += _weigh_plain(text[position : link.start()])
        # A long link is shortened by t.co; a short one is still counted as 23.
        weight += max(LINK_WEIGHT, _weigh_plain(link.group()))
        position = link.end()
    return weight + _weigh_plain(text[position:])


def _weigh_plain(text: str) -> int:
    return sum(
        1 if any(low <= ord(char) <= high for low, high in LIGHT_RANGES) else 2 for char in text
    )


def shorten(text: str, *, limit: int = MAX_WEIGHT) -> str:
    """Fit text into X's limit: keep whole words, end with an ellipsis.

    The rule: text that fits is returned unchanged. Otherwise the longest run of whole
    words that still fits with "…" appended is kept; only a first word that alone is too
    long is cut inside, character by character.
    """
    text = unicodedata.normalize("NFC", text).strip()
    if weighted_length(text) <= limit:
        return text
    kept = ""
    for piece in re.split(r"(\s+)", text):
        if weighted_length(kept + piece + ELLIPSIS) > limit:
            break
        kept += piece
    kept = kept.rstrip()
    if not kept:
        for char in text:
            if weighted_length(kept + char + ELLIPSIS) > limit:
                break
            kept += char
    return kept.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS


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


def record(
    *,
    key: str,
    kind: str,
    text: str,
    outing: Outing | None = None,
    participant: Participant | None = None,
) -> tuple[Tweet, bool]:
    """Write the tweet row before any send; return it and whether it is new."""
    return Tweet.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "kind": kind,
            "text": shorten(text),
            "outing": outing,
            "participant": participant,
        },
    )


def claim(tweet_id: int) -> bool:
    """Take the tweet for this worker with one conditional UPDATE; False if someone has it."""
    return bool(
        Tweet.objects.filter(pk=tweet_id, state__in=[Tweet.State.QUEUED, Tweet.State.RETRYING])
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=Now()))
        .update(claimed_until=timezone.now() + CLAIM_LEASE, next_attempt_at=None)
    )


def send(*, tweet_id: int, last_attempt: bool = False) -> str:
    """Send one tweet unless it is sent, being sent, or failed; return its state after.

    Raises TweetDeferred when a later attempt may succeed (the caller schedules it);
    on the last attempt the tweet is marked failed instead. Raises TweetBusy when
    another worker holds the claim.
    """
    if not claim(tweet_id):
        row = Tweet.objects.filter(pk=tweet_id).values("state", "claimed_until").first()
        if row is None:
            logger.info("tweet %s not claimed: it was deleted", tweet_id)
            return "missing"
        if row["state"] in {Tweet.State.QUEUED, Tweet.State.RETRYING} and row["claimed_until"]:
            # The holder may be a worker that just died (its message is this redelivery):
            # come back when its claim lapses rather than ack and lose the tweet.
            wait = max(1.0, (row["claimed_until"] - timezone.now()).total_seconds())
            logger.info("tweet %s not claimed: another worker holds it for %.0fs", tweet_id, wait)
            raise TweetBusy("another worker is sending this tweet", retry_after=wait)
        logger.info("tweet %s not claimed (state %s): nothing to do", tweet_id, row["state"])
        return row["state"]
    tweet = Tweet.objects.select_related("outing").get(pk=tweet_id)
    finished = {"claimed_until": None}
    if tweet.kind == Tweet.Kind.REMINDER and (tweet.outing is None or tweet.outing.has_started()):
        _update(tweet, state=Tweet.State.FAILED, last_error=_dropped(tweet), **finished)
        return Tweet.State.FAILED
    tweet_attempts = tweet.attempts + 1
    try:
        # The one call that leaves the process (TWEET_RATE_LIMIT gates post_tweet).
        remote_id = get_backend().post(tweet.text, idempotency_key=tweet.idempotency_key)
    except TweetRejected as exc:
        _update(
            tweet,
            state=Tweet.State.FAILED,
            attempts=tweet_attempts,
            last_error=str(exc),
            **finished,
        )
        return Tweet.State.FAILED
    except TweetDeferred as exc:
        state = Tweet.State.FAILED if last_attempt else Tweet.State.RETRYING
        _update(tweet, state=state, attempts=tweet_attempts, last_error=str(exc), **finished)
        if last_attempt:
            return Tweet.State.FAILED
        raise
    with transaction.atomic():
        now = timezone.now()
        _update(
            tweet,
            state=Tweet.State.SENT,
            attempts=tweet_attempts,
            last_error="",
            remote_id=remote_id,
            sent_at=now,
            **finished,
        )
        if tweet.participant_id:
            Participant.objects.filter(pk=tweet.participant_id, reminded_at__isnull=True).update(
                reminded_at=now
            )
    return Tweet.State.SENT


def _dropped(tweet: Tweet) -> str:
    when = timezone.localtime(tweet.outing.starts_at) if tweet.outing else None
    return f"Dropped: the outing started ({when:%Y-%m-%d %H:%M}) before the reminder was sent."


def _update(tweet: Tweet, **fields: object) -> None:
    Tweet.objects.filter(pk=tweet.pk).update(**fields)


def give_up(*, tweet_id: int, reason: str) -> bool:
    """Mark an unsent tweet failed with the reason, releasing its claim."""
    return bool(
        Tweet.objects.filter(
            pk=tweet_id, state__in=[Tweet.State.QUEUED, Tweet.State.RETRYING]
        ).update(state=Tweet.State.FAILED, last_error=reason[:1000], claimed_until=None)
    )


def schedule_retry(*, tweet_id: int, countdown: float) -> None:
    """Note when the next attempt is due, for the Timeline."""
    Tweet.objects.filter(pk=tweet_id, state=Tweet.State.RETRYING).update(
        next_attempt_at=timezone.now() + timedelta(seconds=countdown)
    )


def requeue_failed(tweet_ids: Iterable[int]) -> list[int]:
    """Put failed tweets back in the queue; return the ids that were failed and now are queued."""
    ids = list(
        Tweet.objects.filter(pk__in=list(tweet_ids), state=Tweet.State.FAILED).values_list(
            "pk", flat=True
        )
    )
    requeued = []
    for tweet_id in ids:
        # Conditional, so two staff clicking at once queue it once.
        if Tweet.objects.filter(pk=tweet_id, state=Tweet.State.FAILED).update(
            state=Tweet.State.QUEUED, last_error="", next_attempt_at=None
        ):
            requeued.append(tweet_id)
    return requeued
