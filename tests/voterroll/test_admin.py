"""Admin pages and the "Generate roll" action."""

import pytest
from django.urls import reverse

from tests.factories import make_center, make_voters
from voterroll import rolls
from voterroll.models import Assignment, RollRun

pytestmark = pytest.mark.django_db


def test_generate_roll_action_starts_a_run_for_the_selected_centers_after_commit(
    admin_client, django_capture_on_commit_callbacks
):
    chosen, other = make_center("C0001"), make_center("C0002")
    make_voters(chosen, [("Amal", "Haddad"), ("Badr", "Nasser")])
    make_voters(other, [("Dana", "Ali")])

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:voterroll_center_changelist"),
            {"action": "generate_roll", "_selected_action": [chosen.id]},
        )

    assert response.status_code == 302
    assert len(callbacks) == 1
    run = RollRun.objects.get()
    assert list(run.centers.all()) == [chosen]
    rolls.assign(run.id)
    assert Assignment.objects.filter(run=run).count() == 2


@pytest.mark.parametrize("name", ["center", "voter", "rollrun"])
def test_admin_lists_open(admin_client, name):
    RollRun.objects.create()
    make_voters(make_center(), [("Amal", "Haddad")])

    assert admin_client.get(reverse(f"admin:voterroll_{name}_changelist")).status_code == 200
