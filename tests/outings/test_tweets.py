"""Tweet rows: one row per key, and re-queueing failed ones."""

from __future__ import annotations

from outings import tweets
from outings.models import Tweet


def test_recording_the_same_key_twice_keeps_one_row(make_outing, db):
    outing = make_outing()

    first, created = tweets.record(key="announce:1", kind="announcement", text="a", outing=outing)
    again, created_again = tweets.record(key="announce:1", kind="announcement", text="b")

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Tweet.objects.get().text == "a"


def test_requeue_takes_only_failed_tweets(announcement):
    Tweet.objects.filter(pk=announcement.pk).update(state="failed", last_error="boom")

    assert tweets.requeue_failed([announcement.pk]) == [announcement.pk]
    assert tweets.requeue_failed([announcement.pk]) == []
    announcement.refresh_from_db()
    assert (announcement.state, announcement.last_error) == ("queued", "")
