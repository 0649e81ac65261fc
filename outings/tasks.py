"""Outings' Celery tasks: ids in, one domain call, retries and limits declared here."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outings import announcements, reminders, sending, services, tweets
from outings.backends import TweetBusy, TweetDeferred
from outings.models import Tweet
from tasking.base import task

logger = logging.getLogger(__name__)


def record_killed(exc: BaseException, tweet_id: int, *args, **kwargs) -> None:
    """Fail the tweet when its run was killed: it may or may not have reached X."""
    tweets.give_up(
        tweet_id=tweet_id,
        reason=f"Stopped before X answered ({type(exc).__name__}); check the account "
        "before re-queueing.",
    )


@task(
    name="outings.post_tweet",
    bind=True,
    acks_late=True,
    max_retries=settings.TWEET_MAX_RETRIES,
    retry_backoff=settings.TWEET_RETRY_BACKOFF,
    retry_backoff_max=settings.TWEET_RETRY_BACKOFF_MAX,
    # Across every worker, not per worker as Celery's rate_limit; over the limit the
    # message is re-published for later without using up max_retries.
    cluster_rate_limit=settings.TWEET_RATE_LIMIT or None,
    # Two HTTP timeouts and the database writes fit well inside a minute.
    soft_time_limit=45,
    time_limit=60,
    on_killed=record_killed,
)
def post_tweet(self, tweet_id: int, **kwargs) -> str | None:
    """Send one recorded tweet, at most once."""
    last_attempt = self.request.retries >= self.max_retries
    try:
        return sending.send(tweet_id=tweet_id, last_attempt=last_attempt)
    except TweetDeferred as exc:
        countdown = sending.retry_countdown(
            self.request.retries,
            base=self.retry_backoff,
            cap=self.retry_backoff_max,
            retry_after=exc.retry_after,
        )
        if not isinstance(exc, TweetBusy):
            tweets.schedule_retry(tweet_id=tweet_id, countdown=countdown)
        logger.info("tweet %s: retry %d in %.3fs", tweet_id, self.request.retries + 1, countdown)
        # A countdown, not a sleep: the worker slot is free while the retry waits.
        raise self.retry(exc=exc, countdown=countdown) from exc


@task(name="outings.announce_outing", acks_late=True)
def announce_outing(outing_id: int, **kwargs) -> None:
    """Record an outing's announcement tweet and queue its send."""
    tweet = announcements.record_announcement(outing_id=outing_id)
    if tweet is None:
        logger.info("outing %s is gone: nothing to announce", outing_id)
    elif tweet.state == Tweet.State.QUEUED:
        # Queued again on a re-run: harmless (the claim sends once), and it recovers a
        # send message lost between the first run's commit and its publish.
        services.queue_tweet(tweet)


@task(name="outings.send_due_reminders", acks_late=True)
def send_due_reminders(**kwargs) -> int:
    """Queue one reminder tweet per participant whose outing starts soon."""
    now = timezone.now()
    dropped = reminders.drop_late(now=now)
    if dropped:
        logger.info("dropped %d reminders whose outing had started", dropped)
    with transaction.atomic():
        written = reminders.record_due(now=now, window=settings.OUTING_REMINDER_WINDOW)
        for tweet in written:
            services.queue_tweet(tweet)
    return len(written)
