"""Sign-in throttling: failures counted per username and per address (django-axes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone

from accounts.signin import client_address
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client, username: str, password: str, address: str, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def test_failures_for_one_username_lock_it_from_every_address(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("ada")
    make_user("grace")

    failures = [sign_in(client, "ada", "wrong", f"198.51.100.{n}").status_code for n in range(3)]
    locked = sign_in(client, "ada", PASSWORD, "198.51.100.99")
    other = sign_in(client, "grace", PASSWORD, "198.51.100.1")

    # The failure that reaches the limit is answered with the lockout page itself.
    assert failures == [200, 200, 429]
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page
    assert "as ada failed 3 times in a row" in page
    assert "Try again in 15 minutes." in page
    assert "_auth_user_id" not in client.session or client.session["_auth_user_id"] != "ada"
    assert other.status_code == 302, "another account is not locked"


def test_failures_from_one_address_lock_it_for_every_username(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("ada")

    for name in ("x1", "x2", "x3"):
        sign_in(client, name, "guess", "203.0.113.7")
    from_there = sign_in(client, "ada", PASSWORD, "203.0.113.7")
    elsewhere = sign_in(client, "ada", PASSWORD, "203.0.113.8")

    assert from_there.status_code == 429
    assert elsewhere.status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("ada")
    for _ in range(2):
        sign_in(client, "ada", "wrong", "192.0.2.1")
    assert sign_in(client, "ada", PASSWORD, "192.0.2.1").status_code == 429

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        response = sign_in(client, "ada", PASSWORD, "192.0.2.1")

    assert response.status_code == 302


def test_a_success_resets_the_count(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("ada")
    for _ in range(2):
        sign_in(client, "ada", "wrong", "192.0.2.1")
    assert sign_in(client, "ada", PASSWORD, "192.0.2.1").status_code == 302
    client.logout()

    for _ in range(2):
        sign_in(client, "ada", "wrong", "192.0.2.1")
    response = sign_in(client, "ada", PASSWORD, "192.0.2.1")

    assert response.status_code == 302


def test_clients_behind_the_proxy_are_told_apart_and_cannot_forge_their_address(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("ada")
    proxy = "10.0.0.2"
    # Each forged a different address in front; the proxy appended the real one.
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        sign_in(
            client, f"guess-{forged}", "x", proxy, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.5"
        )
    attacker = sign_in(client, "ada", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    someone_else = sign_in(client, "ada", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert attacker.status_code == 429
    assert someone_else.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "1.1.1.1", "10.0.0.2"),
        (1, "1.1.1.1, 203.0.113.5", "203.0.113.5"),
        (2, "1.1.1.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_saw(
    settings, proxies, forwarded, address
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == address
