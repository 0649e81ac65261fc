"""Bad input gets an error a person can act on."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from outings.forms import JoinForm, OutingForm
from outings.models import XHandle


def _outing_data(**overrides) -> dict:
    starts = timezone.localtime() + timedelta(days=1)
    return {
        "title": "Picnic",
        "description": "",
        "place": "Parc Monceau",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        **overrides,
    }


def test_a_valid_outing_is_accepted(db):
    assert OutingForm(_outing_data()).is_valid()


def test_a_start_time_in_the_past_is_refused_saying_so(db):
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    form = OutingForm(_outing_data(starts_at=past))

    assert not form.is_valid()
    [message] = form.errors["starts_at"]
    assert message == (
        f"The start time {past.replace('T', ' ')} UTC is in the past: "
        "choose a time that is still to come."
    )


def test_an_empty_or_blank_title_is_refused(db):
    for title in ("", "   "):
        form = OutingForm(_outing_data(title=title))

        assert form.errors["title"] == ["Give the outing a title."]


def test_an_unreadable_start_time_is_refused(db):
    form = OutingForm(_outing_data(starts_at="next friday"))

    assert form.errors["starts_at"] == [
        "Enter the start as a date and time, like 2026-12-24 18:30."
    ]


def test_a_handle_with_or_without_at_sign_is_stored_without_it(make_outing, user):
    form = JoinForm(
        {"name": "Ada", "handle": " @Ada_L ", "wants_reminder": "on"},
        outing=make_outing(),
        user=user,
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data["handle"] == "Ada_L"


def test_an_invalid_handle_is_refused_with_the_rule(make_outing, user):
    outing = make_outing()
    for handle in ("ada lovelace", "ada-l", "a" * 16, "@", "ádá"):
        form = JoinForm({"name": "Ada", "handle": handle}, outing=outing, user=user)

        assert form.errors["handle"] == [
            "That is not an X handle: use 1 to 15 letters, digits or underscores, like @backlot_hq."
        ], handle


def test_joining_twice_with_the_same_handle_is_refused(make_outing, make_participant, user):
    outing = make_outing()
    make_participant(outing, handle="ada")

    form = JoinForm({"name": "Ada again", "handle": "@ADA"}, outing=outing, user=user)

    assert form.errors["handle"] == ["@ADA has already joined this outing."]


def test_the_same_handle_may_join_another_outing(make_outing, make_participant, user):
    make_participant(make_outing(), handle="ada")

    form = JoinForm({"name": "Ada", "handle": "ada"}, outing=make_outing(), user=user)

    assert form.is_valid(), form.errors


def test_a_handle_another_account_uses_is_refused(make_outing, user, django_user_model):
    XHandle.objects.create(handle="grace_h", user=user)
    other = django_user_model.objects.create_user("mallory")

    form = JoinForm({"name": "M", "handle": "@Grace_H"}, outing=make_outing(), user=other)
    own = JoinForm({"name": "G", "handle": "grace_h"}, outing=make_outing(), user=user)

    assert form.errors["handle"] == [
        "@Grace_H is used by another account here. Join with your own X handle."
    ]
    assert own.is_valid(), own.errors
