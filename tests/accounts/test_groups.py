"""The staff groups the data migration creates, and what each may do."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.factories import STAFF_GROUPS, make_staff

pytestmark = pytest.mark.django_db


def test_the_migration_creates_each_group_with_its_permissions():
    # Non-transactional tests run first, on the tables exactly as migrate left them.
    groups = {
        group.name: sorted(
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
        )
        for group in Group.objects.prefetch_related("permissions__content_type")
    }

    assert groups == {name: sorted(perms) for name, perms in STAFF_GROUPS.items()}


@pytest.mark.parametrize(
    ("group", "allowed"),
    [
        ("Roll officers", {"/rolls/"}),
        ("Communications", {"/accounts/email-all/"}),
        ("Operators", {"/tasks/", "/metrics"}),
    ],
)
def test_each_group_reaches_its_own_staff_pages_only(client, group, allowed):
    client.force_login(make_staff("member", group))
    pages = {"/rolls/", "/accounts/email-all/", "/tasks/", "/metrics"}

    answers = {page: client.get(page).status_code for page in pages}

    assert {page for page, status in answers.items() if status == 200} == allowed
    assert {status for page, status in answers.items() if page not in allowed} <= {401, 403}
