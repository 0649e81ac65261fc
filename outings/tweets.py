"""Tweet rows: recording one before any send, failing, re-queueing and rescheduling it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from outings.models import Outing, Participant, Tweet
from outings.tweet_text import shorten


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
