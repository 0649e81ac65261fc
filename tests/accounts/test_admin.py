"""The "Send password reset emails" admin action: batched tasks, real SMTP, working links."""

from __future__ import annotations

import re

from django.contrib.auth.models import Permission, User
from django.db import transaction
from django_celery_results.models import TaskResult

from accounts import emails
from tests.factories import make_staff
from tests.support.waiting import wait_until

CHANGELIST = "/admin/auth/user/"


def select_for_reset(client, ids: list[int]):
    return client.post(
        CHANGELIST,
        {"action": "send_password_reset_emails", "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def test_each_selected_user_gets_one_email_with_a_working_reset_link(worker, smtp_inbox, client):
    staff = User.objects.create_superuser("boss", "boss@example.com", "x-long-password-1")
    chosen = [
        User.objects.create_user(f"u{i}", f"u{i}@example.com", "old-pass-1") for i in range(4)
    ]
    User.objects.create_user("left-out", "left@example.com", "old-pass-1")
    client.force_login(staff)

    response = select_for_reset(client, [u.pk for u in chosen])

    assert b"Sending password reset emails to 4 users" in response.content
    wait_until(lambda: len(smtp_inbox.messages) >= 4, what="four emails")
    assert sorted(m["To"] for m in smtp_inbox.messages) == sorted(u.email for u in chosen)
    client.logout()
    for user, message in zip(
        sorted(chosen, key=lambda u: u.email),
        sorted(smtp_inbox.messages, key=lambda m: m["To"]),
        strict=True,
    ):
        link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.get_payload())
        assert link, message.get_payload()
        form_page = client.get(link[1], follow=True)
        assert form_page.status_code == 200
        assert b"new_password1" in form_page.content, "the reset link was refused"
        done = client.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"},
        )
        assert done.status_code == 302
        user.refresh_from_db()
        assert user.check_password("brand-new-pass-77")


def test_the_action_queues_one_task_per_batch_after_commit(worker, client):
    staff = User.objects.create_superuser("boss", "boss@example.com", "x-long-password-1")
    User.objects.bulk_create(User(username=f"b{i}", email=f"b{i}@example.com") for i in range(250))
    ids = list(User.objects.exclude(pk=staff.pk).values_list("pk", flat=True))
    client.force_login(staff)

    select_for_reset(client, ids)

    wait_until(
        lambda: (
            TaskResult.objects.filter(
                task_name="accounts.send_password_resets", status="SUCCESS"
            ).count()
            == 3
        ),
        what="three batches",
    )
    results = TaskResult.objects.filter(task_name="accounts.send_password_resets")
    assert sorted(int(r.result) for r in results) == [50, emails.BATCH_SIZE, emails.BATCH_SIZE]


def test_one_task_is_queued_on_commit_and_none_on_rollback(
    rf, admin_user, django_capture_on_commit_callbacks
):
    from django.contrib import admin as django_admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    user = User.objects.create_user("one", "one@example.com", "old-pass-1")
    model_admin = django_admin.site._registry[User]
    request = rf.post(CHANGELIST)
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)

    with django_capture_on_commit_callbacks() as committed:
        model_admin.send_password_reset_emails(request, User.objects.filter(pk=user.pk))
    assert len(committed) == 1

    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                model_admin.send_password_reset_emails(request, User.objects.filter(pk=user.pk))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass

    assert callbacks == []


def test_the_reset_action_needs_its_permission(db, client, django_capture_on_commit_callbacks):
    viewer = make_staff("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    target = User.objects.create_user("target", "target@example.com", "old-pass-1")
    client.force_login(viewer)

    page = client.get(CHANGELIST).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        select_for_reset(client, [target.pk])

    assert "send_password_reset_emails" not in page
    assert callbacks == []
    client.force_login(make_staff("comms", "Communications"))
    assert "send_password_reset_emails" in client.get(CHANGELIST).content.decode()
