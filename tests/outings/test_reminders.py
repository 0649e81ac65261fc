"""Which participants get a reminder, and when: time is moved with time-machine."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from outings import reminders
from outings.models import Tweet

WINDOW = timedelta(hours=24)


def test_only_opted_in_participants_of_outings_inside_the_window_are_due(
    make_outing, make_participant
):
    now = timezone.now()
    soon = make_outing(starts_at=now + timedelta(hours=3))
    later = make_outing(starts_at=now + timedelta(hours=30))
    wants = make_participant(soon, handle="wants")
    make_participant(soon, handle="opted_out", wants_reminder=False)
    make_participant(later, handle="too_early")

    written = reminders.record_due(now=now, window=WINDOW)

    assert [t.participant_id for t in written] == [wants.pk]
    assert written[0].idempotency_key == f"reminder:{wants.pk}"
    assert written[0].text.startswith("@wants reminder: Picnic in the park starts")


def test_an_outing_comes_into_the_window_as_time_passes(make_outing, make_participant):
    start = timezone.now() + timedelta(hours=30)
    participant = make_participant(make_outing(starts_at=start))

    with time_machine.travel(start - timedelta(hours=25)):
        assert reminders.record_due(now=timezone.now(), window=WINDOW) == []
    with time_machine.travel(start - timedelta(hours=23)):
        assert [t.participant for t in reminders.record_due(now=timezone.now(), window=WINDOW)] == [
            participant
        ]


def test_a_started_outing_is_never_due(make_outing, make_participant):
    start = timezone.now() + timedelta(hours=1)
    make_participant(make_outing(starts_at=start))

    with time_machine.travel(start + timedelta(minutes=5)):
        assert reminders.record_due(now=timezone.now(), window=WINDOW) == []


def test_a_second_run_writes_nothing_more(make_outing, make_participant):
    make_participant(make_outing())
    now = timezone.now()

    assert len(reminders.record_due(now=now, window=WINDOW)) == 1
    assert reminders.record_due(now=now, window=WINDOW) == []
    assert Tweet.objects.count() == 1


def test_pending_reminders_of_started_outings_are_dropped(make_outing, make_participant):
    start = timezone.now() + timedelta(hours=1)
    make_participant(make_outing(starts_at=start))
    [tweet] = reminders.record_due(now=timezone.now(), window=WINDOW)

    assert reminders.drop_late(now=start - timedelta(minutes=1)) == 0
    assert reminders.drop_late(now=start + timedelta(minutes=1)) == 1

    tweet.refresh_from_db()
    assert tweet.state == "failed"
    assert tweet.last_error.startswith("Dropped")


def test_the_reminder_help_says_when_the_reminder_comes(make_outing, settings):
    settings.OUTING_REMINDER_WINDOW = timedelta(hours=6)
    settings.OUTING_REMINDER_EVERY = 300
    now = timezone.now()

    far = reminders.when_reminded(make_outing(starts_at=now + timedelta(days=3)), now=now)
    near = reminders.when_reminded(make_outing(starts_at=now + timedelta(hours=2)), now=now)

    assert far == "A reminder is tweeted 6 hours before the outing starts."
    assert near == (
        "The outing starts within 6 hours, so the reminder is tweeted within 5 minutes of joining."
    )
