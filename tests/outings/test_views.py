"""The outings pages and the staff retry, through Django's test client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from outings.models import Outing, Participant, Tweet
from tests.factories import make_staff
from tests.support.waiting import wait_until


@pytest.fixture
def staff(django_user_model):
    return make_staff("staff", "Communications", password="pw-for-tests")


@pytest.fixture
def failed_tweet(make_outing):
    return Tweet.objects.create(
        idempotency_key="announce:x",
        kind="announcement",
        text="Hello",
        outing=make_outing(),
        state="failed",
        attempts=1,
        last_error="X API 401: Unauthorized",
    )


def test_the_list_shows_upcoming_outings_only(client, make_outing, make_participant):
    upcoming = make_outing(title="Upcoming")
    make_participant(upcoming)
    past = make_outing(title="Past")
    Outing.objects.filter(pk=past.pk).update(starts_at=timezone.now() - timedelta(days=1))

    html = client.get(reverse("outings:index")).content.decode()

    assert "Upcoming" in html
    assert "Past" not in html


def test_creating_needs_a_signed_in_user(client, db):
    response = client.get(reverse("outings:create"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_signed_in_user_creates_an_outing_and_lands_on_its_page(
    client, user, django_capture_on_commit_callbacks
):
    client.force_login(user)
    starts = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("outings:create"),
            {"title": "Picnic", "place": "Parc", "starts_at": starts, "description": ""},
        )

    outing = Outing.objects.get()
    assert response.status_code == 302
    assert response.url == outing.get_absolute_url()
    assert outing.created_by == user
    assert len(callbacks) == 1


def test_a_bad_outing_redisplays_the_form_with_its_errors(client, user):
    client.force_login(user)

    response = client.post(reverse("outings:create"), {"title": "", "place": "P", "starts_at": ""})

    assert response.status_code == 200
    assert "Give the outing a title." in response.content.decode()
    assert not Outing.objects.exists()


def test_a_signed_in_user_joins_and_is_listed(client, make_outing, user):
    outing = make_outing()
    client.force_login(user)

    response = client.post(
        outing.get_absolute_url(), {"name": "Ada", "handle": "@ada"}, follow=True
    )

    html = response.content.decode()
    assert "@ada joined Picnic in the park." in html
    assert "Ada (@ada)" in html
    assert Participant.objects.get().wants_reminder is False


def test_a_duplicate_join_shows_the_error(client, make_outing, make_participant, user):
    outing = make_outing()
    make_participant(outing, handle="ada")
    client.force_login(user)

    response = client.post(outing.get_absolute_url(), {"name": "Ada", "handle": "ada"})

    assert "@ada has already joined this outing." in response.content.decode()
    assert outing.participants.count() == 1


def test_the_timeline_shows_each_tweet_with_its_state_and_its_error_to_staff_only(
    client, failed_tweet, user, staff
):
    anonymous = client.get(reverse("outings:timeline")).content.decode()
    client.force_login(user)
    signed_in = client.get(reverse("outings:timeline")).content.decode()
    client.force_login(staff)
    as_staff = client.get(reverse("outings:timeline")).content.decode()

    for html in (anonymous, signed_in, as_staff):
        assert f'<tr id="tweet-{failed_tweet.pk}" class="tweet failed">' in html
    assert "X API 401" not in anonymous
    assert "X API 401" not in signed_in
    assert "Retry</button>" not in anonymous + signed_in
    assert "X API 401: Unauthorized" in as_staff


def test_staff_retry_requeues_a_failed_tweet_and_enqueues_it_on_commit(
    client, staff, failed_tweet, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    assert "Retry</button>" in client.get(reverse("outings:timeline")).content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("outings:retry", args=[failed_tweet.pk]))

    assert response.status_code == 302
    failed_tweet.refresh_from_db()
    assert failed_tweet.state == "queued"
    assert len(callbacks) == 1


def test_retrying_a_tweet_that_is_not_failed_says_so(client, staff, failed_tweet):
    Tweet.objects.filter(pk=failed_tweet.pk).update(state="sent")
    client.force_login(staff)

    response = client.post(reverse("outings:retry", args=[failed_tweet.pk]), follow=True)

    assert "is sent, not failed." in response.content.decode()


def test_users_without_the_retry_permission_cannot_retry(client, user, failed_tweet):
    refused = []
    for someone in (user, make_staff("roll-officer", "Roll officers", "Operators")):
        client.force_login(someone)
        assert "Retry</button>" not in client.get(reverse("outings:timeline")).content.decode()
        refused.append(client.post(reverse("outings:retry", args=[failed_tweet.pk])).status_code)

    assert refused == [403, 403]
    failed_tweet.refresh_from_db()
    assert failed_tweet.state == "failed"


def test_the_admin_action_is_offered_only_with_the_retry_permission(client, failed_tweet):
    viewer = make_staff("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_tweet"))
    client.force_login(viewer)
    changelist = reverse("admin:outings_tweet_changelist")

    assert "retry_failed" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "retry_failed", "_selected_action": [failed_tweet.pk]})

    failed_tweet.refresh_from_db()
    assert failed_tweet.state == "failed"


def test_the_admin_action_requeues_failed_tweets(
    admin_client, failed_tweet, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(
            reverse("admin:outings_tweet_changelist"),
            {"action": "retry_failed", "_selected_action": [failed_tweet.pk]},
        )

    failed_tweet.refresh_from_db()
    assert failed_tweet.state == "queued"
    assert len(callbacks) == 1


def test_the_retried_tweet_is_sent_by_a_real_worker(
    worker, client, staff, failed_tweet, django_capture_on_commit_callbacks
):
    client.force_login(staff)

    client.post(reverse("outings:retry", args=[failed_tweet.pk]))

    # The retry publishes the send on commit; a second .delay() here would race it
    # for the claim and wait out the loser's lease.
    wait_until(
        lambda: Tweet.objects.get(pk=failed_tweet.pk).state == "sent", what="the retried tweet"
    )


def test_the_join_form_says_when_the_reminder_comes(client, make_outing, user, settings):
    settings.OUTING_REMINDER_WINDOW = timedelta(hours=24)
    client.force_login(user)
    soon = make_outing(starts_at=timezone.now() + timedelta(hours=2))

    page = client.get(soon.get_absolute_url()).content.decode()

    assert "the day before" not in page
    assert "The outing starts within 24 hours, so the reminder is tweeted within" in page


def test_times_are_shown_in_the_viewers_zone_with_its_name(client, make_outing):
    make_outing(title="Dawn", starts_at=datetime(2099, 1, 5, 12, 0, tzinfo=UTC))
    client.cookies["tz_detected"] = "America/New_York"

    page = client.get(reverse("outings:index")).content.decode()

    # 12:00 UTC is 07:00 in New York in January.
    assert "Mon 5 Jan, 07:00 EST" in page
    assert "Times are in <strong>America/New_York</strong>" in page


def test_the_timeline_has_a_time_column(client, failed_tweet):
    client.cookies["tz"] = "Asia/Tokyo"
    Tweet.objects.filter(pk=failed_tweet.pk).update(
        created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    )

    page = client.get(reverse("outings:timeline")).content.decode()

    assert "<th>Time</th>" in page
    # 23:30 UTC is 08:30 the next day in Tokyo (JST, UTC+9).
    assert ">2 Mar, 08:30 JST</time>" in page


def test_a_start_typed_in_the_form_is_read_in_the_viewers_zone(client, user):
    client.force_login(user)
    client.cookies["tz_detected"] = "Europe/Paris"

    client.post(
        reverse("outings:create"),
        {"title": "Picnic", "place": "Parc Monceau", "starts_at": "2099-07-14T18:30"},
    )

    # 18:30 in Paris in summer (CEST, UTC+2) is 16:30 UTC.
    assert Outing.objects.get().starts_at == datetime(2099, 7, 14, 16, 30, tzinfo=UTC)
