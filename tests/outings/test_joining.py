"""Who may join an outing, with which handle, how often: the site tweets @mentions for them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from outings import joining
from outings.models import Outing, Participant, XHandle
from tests.factories import make_user


@pytest.fixture
def mallory(db):
    return make_user("mallory")


def _join(client, outing, handle, name="Someone"):
    return client.post(outing.get_absolute_url(), {"name": name, "handle": handle})


def test_joining_needs_an_account(client, make_outing):
    outing = make_outing()

    page = client.get(outing.get_absolute_url()).content.decode()
    response = _join(client, outing, "@ada")

    assert 'name="handle"' not in page
    assert "Sign in</a> to join" in page
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Participant.objects.exists()


def test_a_handle_belongs_to_the_first_account_that_joins_with_it(
    client, make_outing, user, mallory
):
    first, second = make_outing(), make_outing(title="Second")
    client.force_login(user)
    _join(client, first, "@grace_h")

    client.force_login(mallory)
    taken = _join(client, second, "@GRACE_H")
    client.force_login(user)
    again = _join(client, second, "grace_h")

    assert "@GRACE_H is used by another account here" in taken.content.decode()
    assert again.status_code == 302
    assert list(second.participants.values_list("handle", "user")) == [("grace_h", user.pk)]
    assert XHandle.objects.get().user == user


def test_one_account_joins_an_outing_once(client, make_outing, user):
    outing = make_outing()
    client.force_login(user)
    _join(client, outing, "ada")

    response = _join(client, outing, "ada_two")

    assert "You have already joined this outing." in response.content.decode()
    assert outing.participants.count() == 1


def test_a_full_outing_refuses_the_next_person(client, make_outing, settings):
    settings.OUTING_MAX_PARTICIPANTS = 2
    outing = make_outing()
    for name in ("p1", "p2", "p3"):
        client.force_login(make_user(name))
        response = _join(client, outing, name)

    assert "This outing is full: it takes at most 2 people." in response.content.decode()
    assert outing.participants.count() == 2


@pytest.mark.django_db(transaction=True)
def test_joins_at_once_never_overfill_an_outing(settings, django_user_model):
    settings.OUTING_MAX_PARTICIPANTS = 3
    owner = make_user("owner")
    outing = Outing.objects.create(
        title="Walk", place="Park", starts_at=timezone.now() + timedelta(days=1), created_by=owner
    )
    people = [make_user(f"p{n}") for n in range(8)]
    refused: list[str] = []
    start = threading.Barrier(len(people))

    def join(person) -> None:
        start.wait()
        try:
            joining.join(
                outing_id=outing.id,
                user=person,
                name=person.username,
                handle=person.username,
                wants_reminder=True,
            )
        except joining.JoinRefused as why:
            refused.append(str(why))
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outing.participants.count() == 3
    assert refused == ["This outing is full: it takes at most 3 people."] * 5


def test_creating_outings_is_rate_limited_per_account(client, user, mallory, settings):
    settings.OUTING_CREATE_RATE = "2/1h"
    starts = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "Picnic", "place": "Parc", "starts_at": starts, "description": ""}
    client.force_login(user)

    answers = [client.post(reverse("outings:create"), data) for _ in range(3)]
    client.force_login(mallory)
    someone_else = client.post(reverse("outings:create"), data)

    assert [a.status_code for a in answers] == [302, 302, 429]
    page = answers[-1].content.decode()
    assert "You can create at most 2 outings in 1\xa0hour. Try again in" in page
    assert someone_else.status_code == 302
    assert Outing.objects.filter(created_by=user).count() == 2


def test_joining_is_rate_limited_per_account(client, make_outing, user, settings):
    settings.OUTING_JOIN_RATE = "2/1h"
    outings = [make_outing(title=f"Outing {n}") for n in range(3)]
    client.force_login(user)

    answers = [_join(client, outing, "ada") for outing in outings]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert "You can join at most 2 outings in 1\xa0hour." in answers[-1].content.decode()
    assert Participant.objects.filter(user=user).count() == 2


def test_a_malformed_rate_setting_fails_the_system_checks(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.OUTING_JOIN_RATE = "lots"

    with pytest.raises(SystemCheckError, match="OUTING_JOIN_RATE"):
        call_command("check")
