"""What an outing and its tweets go through, as named actions for views, admin and tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from outings import tasks, tweets
from outings.models import Outing, Tweet
from tasking import enqueue


def create_outing(*, created_by: User, **fields: Any) -> Outing:
    """Write an outing; its announcement is queued with it (``queue_announcement``).

    The queueing is ``outings.receivers.announce_new_outing``, so an outing made
    anywhere (the admin, a fixture) is announced too.
    """
    with transaction.atomic():
        return Outing.objects.create(created_by=created_by, **fields)


def queue_announcement(outing_id: int) -> None:
    """Queue an outing's announcement through the outbox: it must not be lost.

    The row commits with the outing, so a process dying before the publish loses
    nothing (the relay publishes it).
    """
    enqueue.outbox(tasks.announce_outing, outing_id)


def queue_tweet(tweet: Tweet) -> None:
    """Queue the send of a recorded tweet once its row is committed."""
    options: dict[str, Any] = {}
    if tweet.kind == Tweet.Kind.REMINDER and tweet.outing is not None:
        # A reminder is worthless once the outing has begun: let the broker drop it.
        options["expires"] = tweet.outing.starts_at
    enqueue.after_commit(tasks.post_tweet, tweet.pk, **options)


def requeue_tweets(tweet_ids: Iterable[int]) -> list[int]:
    """Queue failed tweets again, as when they were first written; return their ids."""
    with transaction.atomic():
        requeued = tweets.requeue_failed(tweet_ids)
        for tweet in Tweet.objects.select_related("outing").filter(pk__in=requeued):
            queue_tweet(tweet)
    return requeued
