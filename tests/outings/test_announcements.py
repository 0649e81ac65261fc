"""The announcement tweet's text and its single row."""

from __future__ import annotations

from datetime import UTC, datetime

from outings import announcements, tweet_text
from outings.models import Tweet


def test_announcement_says_when_and_where_before_the_title(make_outing):
    outing = make_outing(
        title="Picnic", place="Parc Monceau", starts_at=datetime(2030, 6, 1, 12, 30, tzinfo=UTC)
    )

    assert announcements.announcement_text(outing) == (
        "New outing Sat 01 Jun 12:30 UTC at Parc Monceau: Picnic."
    )


def test_a_long_description_is_shortened_not_the_time_and_place(make_outing):
    outing = make_outing(description="Bring bread. " * 40)

    tweet = announcements.record_announcement(outing_id=outing.pk)

    assert tweet_text.weighted_length(tweet.text) <= 280
    assert tweet.text.startswith("New outing ")
    assert "at Parc Monceau: Picnic in the park. Bring bread." in tweet.text
    assert tweet.text.endswith("bread.…")


def test_announcing_twice_keeps_one_tweet(make_outing):
    outing = make_outing()

    first = announcements.record_announcement(outing_id=outing.pk)
    again = announcements.record_announcement(outing_id=outing.pk)

    assert first.pk == again.pk
    assert Tweet.objects.filter(kind="announcement").count() == 1


def test_a_deleted_outing_is_not_announced(db):
    assert announcements.record_announcement(outing_id=999_999) is None
