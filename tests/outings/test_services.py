"""outings.services: the named actions views, admin actions and tasks call."""

from __future__ import annotations

from django.urls import reverse

from outings import services
from outings.models import Tweet


def _failed(outing, kind, participant=None):
    return Tweet.objects.create(
        idempotency_key=f"{kind}:{outing.pk}",
        kind=kind,
        text="Hello",
        outing=outing,
        participant=participant,
        state="failed",
        last_error="X API 503",
    )


def test_a_requeued_reminder_expires_when_its_outing_starts_as_a_first_send_does(
    make_outing, make_participant, published, django_capture_on_commit_callbacks
):
    outing = make_outing()
    reminder = _failed(outing, "reminder", make_participant(outing))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.requeue_tweets([reminder.pk]) == [reminder.pk]
        assert published == []  # nothing before commit

    assert len(callbacks) == 1
    assert [(p.task, p.args, p.expires) for p in published] == [
        ("outings.post_tweet", [reminder.pk], outing.starts_at)
    ]
    reminder.refresh_from_db()
    assert (reminder.state, reminder.last_error) == ("queued", "")


def test_a_requeued_announcement_never_expires(
    make_outing, published, django_capture_on_commit_callbacks
):
    announcement = _failed(make_outing(), "announcement")

    with django_capture_on_commit_callbacks(execute=True):
        services.requeue_tweets([announcement.pk])

    assert [(p.task, p.args, p.expires) for p in published] == [
        ("outings.post_tweet", [announcement.pk], None)
    ]


def test_only_failed_tweets_are_requeued(
    make_outing, published, django_capture_on_commit_callbacks
):
    sent = _failed(make_outing(), "announcement")
    Tweet.objects.filter(pk=sent.pk).update(state="sent")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.requeue_tweets([sent.pk]) == []

    assert published == []


def test_the_admin_action_requeues_with_the_expiry_too(
    admin_client, make_outing, make_participant, published, django_capture_on_commit_callbacks
):
    outing = make_outing()
    reminder = _failed(outing, "reminder", make_participant(outing))

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:outings_tweet_changelist"),
            {"action": "retry_failed", "_selected_action": [reminder.pk]},
        )

    assert [(p.task, p.args, p.expires) for p in published] == [
        ("outings.post_tweet", [reminder.pk], outing.starts_at)
    ]
