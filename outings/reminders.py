"""Reminder tweets for participants whose outing starts soon."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outings import tweet_text
from outings.models import Outing, Participant, Tweet


def reminder_text(participant: Participant) -> str:
    """Compose one participant's reminder."""
    outing = participant.outing
    when = timezone.localtime(outing.starts_at)
    return (
        f"@{participant.handle} reminder: {outing.title} starts "
        f"{when:%a %d %b %H:%M} {when.tzname()} at {outing.place}. See you there!"
    )


def _hours(span: timedelta) -> str:
    hours = span / timedelta(hours=1)
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def when_reminded(outing: Outing, *, now: datetime) -> str:
    """Say when someone joining now gets their reminder (OUTING_REMINDER_WINDOW_HOURS)."""
    window = settings.OUTING_REMINDER_WINDOW
    if outing.starts_at - now > window:
        return f"A reminder is tweeted {_hours(window)} before the outing starts."
    # The reminder job runs every OUTING_REMINDER_EVERY seconds and picks up every
    # participant whose outing starts within the window, so a late joiner waits one run.
    minutes = max(1, math.ceil(settings.OUTING_REMINDER_EVERY / 60))
    return (
        f"The outing starts within {_hours(window)}, so the reminder is tweeted "
        f"within {minutes} minute{'' if minutes == 1 else 's'} of joining."
    )


def record_due(*, now: datetime, window: timedelta) -> list[Tweet]:
    """Write one reminder tweet per due participant; return the tweets written by this call.

    Two runs at once (a duplicate beat, a redelivered message) split the participants
    between them through SKIP LOCKED, and the unique idempotency key stops any overlap.
    """
    with transaction.atomic():
        due = list(
            Participant.objects.due_for_reminder(now=now, window=window)
            .select_related("outing")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
        )
        rows = [
            Tweet(
                idempotency_key=f"reminder:{participant.pk}",
                kind=Tweet.Kind.REMINDER,
                text=tweet_text.shorten(reminder_text(participant)),
                outing=participant.outing,
                participant=participant,
            )
            for participant in due
        ]
        # These participants are locked by this run and had no tweet, so every key is new;
        # one INSERT for all of them instead of a get_or_create (and savepoint) each.
        Tweet.objects.bulk_create(rows, ignore_conflicts=True)
        return list(
            Tweet.objects.filter(idempotency_key__in=[row.idempotency_key for row in rows])
            .select_related("outing")
            .order_by("pk")
        )


def drop_late(*, now: datetime) -> int:
    """Fail pending reminders whose outing has started: a late reminder is worse than none."""
    return Tweet.objects.filter(
        kind=Tweet.Kind.REMINDER,
        state__in=[Tweet.State.QUEUED, Tweet.State.RETRYING],
        claimed_until__isnull=True,
        outing__starts_at__lte=now,
    ).update(
        state=Tweet.State.FAILED,
        last_error="Dropped: the outing started before the reminder was sent.",
    )
