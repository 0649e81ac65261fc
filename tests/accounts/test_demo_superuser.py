"""`make run`'s demo superuser: one password per install, printed on every start."""

import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DEBUG = True
    settings.DATA_DIR = tmp_path
    return tmp_path


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo_superuser", *args, stdout=out)
    return out.getvalue()


def test_the_password_is_made_once_kept_in_data_dir_and_printed_on_every_start(data_dir, client):
    first = run()
    password = (data_dir / "demo_password").read_text().strip()
    assert stat.S_IMODE((data_dir / "demo_password").stat().st_mode) == 0o600
    assert f"password {password!r}" in first and "Created" in first
    demo = get_user_model().objects.get(username="demo")
    assert demo.check_password(password) and demo.is_superuser
    client.force_login(demo)

    again = run()

    assert f"password {password!r}" in again and "Created" not in again
    # The stored hash is untouched, so a browser signed in before stays signed in.
    assert get_user_model().objects.get(username="demo").password == demo.password
    assert client.get("/admin/").status_code == 200


def test_reset_makes_a_new_password(data_dir):
    run()
    old = (data_dir / "demo_password").read_text().strip()

    output = run("--reset")

    new = (data_dir / "demo_password").read_text().strip()
    assert new != old and f"password {new!r}" in output
    assert get_user_model().objects.get(username="demo").check_password(new)


def test_a_password_changed_in_the_app_is_left_alone_with_a_warning(data_dir):
    run()
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed-in-the-admin-1")
    user.save()

    output = run()

    assert "was changed" in output and "--reset" in output
    assert get_user_model().objects.get(username="demo").check_password("changed-in-the-admin-1")
