"""The staff page "Email all active users": confirm, then a generator job that counts each send."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts.tasks import EMAIL_ACTIVE_USERS, email_users
from tasking import generators
from tasking.models import GeneratorJob
from tests.factories import make_staff
from tests.processes import free_port
from tests.support.waiting import wait_until


def _seven_users_and_two_left_out() -> None:
    User.objects.bulk_create(User(username=f"a{i}", email=f"a{i}@example.com") for i in range(7))
    User.objects.create(username="gone", email="gone@example.com", is_active=False)
    User.objects.create(username="no-address", email="")


def _all_ended(job_id: int) -> bool:
    return GeneratorJob.objects.get(pk=job_id).all_ended


def test_staff_confirm_then_email_every_active_user_once_and_watch_the_job_finish(
    worker, smtp_inbox, client
):
    staff = User.objects.create_superuser("boss", "boss@example.com", "x-long-password-1")
    _seven_users_and_two_left_out()
    client.force_login(staff)
    notice = {"subject": "Hello", "body": "News.\nMore news."}

    asked = client.post("/accounts/email-all/", notice)
    assert not GeneratorJob.objects.exists()
    response = client.post("/accounts/email-all/", {**notice, "confirmed": "True"})

    confirm_page = asked.content.decode()
    assert "Send this to 8 users?" in confirm_page
    assert 'id="confirm">Send to 8 users</button>' in confirm_page
    # The notice goes back as typed, line breaks included, with the confirmation.
    assert '<input type="hidden" name="subject" value="Hello"' in confirm_page
    assert "News.\nMore news.</textarea>" in confirm_page
    assert '<input type="hidden" name="confirmed" value="True"' in confirm_page
    job = GeneratorJob.objects.get()
    assert response.url == f"/accounts/email-all/{job.pk}/"
    assert job.rows_total == 8
    wait_until(lambda: _all_ended(job.pk), what="every send to end")
    page = client.get(response.url).content.decode()
    assert "8 of 8 users (100%)" in page
    assert '<dd id="sent">8</dd>' in page
    assert '<dd id="failed">0</dd>' in page
    assert '<strong id="state">Done</strong>' in page
    # What was sent, as typed.
    assert '<dd id="subject">Hello</dd>' in page
    assert '<dd id="body">News.<br>More news.</dd>' in page
    recipients = sorted(m["To"] for m in smtp_inbox.messages)
    assert recipients == sorted(["boss@example.com"] + [f"a{i}@example.com" for i in range(7)])
    assert {m["Subject"] for m in smtp_inbox.messages} == {"Hello"}
    bodies = {m.get_payload().replace("\r\n", "\n") for m in smtp_inbox.messages}
    assert bodies == {"News.\nMore news.\n"}


def test_a_job_whose_sends_all_fail_says_so_with_the_reason(worker, smtp_inbox, admin_client):
    """A subject with a line break made every send fail while the job said "Done, 4 of 4"."""
    _seven_users_and_two_left_out()
    # Started the way an old form (or another caller) could: no check on the subject.
    job = generators.start(EMAIL_ACTIVE_USERS, {"subject": "Hello\nWorld", "body": "x"})

    wait_until(lambda: _all_ended(job.pk), what="every send to end")
    page = admin_client.get(f"/accounts/email-all/{job.pk}/").content.decode()

    assert smtp_inbox.messages == []
    assert '<dd id="sent">0</dd>' in page
    assert '<dd id="failed">8</dd>' in page
    assert '<strong id="state">Done, with failures</strong>' in page
    failures = GeneratorJob.objects.get(pk=job.pk).failures
    assert len(failures) == generators.FAILURES_KEPT
    assert all("Header values can" in reason and "newlines" in reason for reason in failures)
    assert "Header values can" in page


def test_a_refused_recipient_counts_as_failed_and_the_others_as_sent(
    worker, smtp_inbox, admin_client
):
    _seven_users_and_two_left_out()
    smtp_inbox.unknown = {"a3@example.com"}

    job = generators.start(EMAIL_ACTIVE_USERS, {"subject": "Hi", "body": "x"})
    wait_until(lambda: _all_ended(job.pk), what="every send to end")

    job.refresh_from_db()
    assert (job.rows_succeeded, job.rows_failed) == (7, 1)
    assert job.failures[0].startswith("a3@example.com: ")
    assert "550" in job.failures[0]
    assert len(smtp_inbox.messages) == 7


def test_recipients_count_as_failed_once_the_mail_server_failed_every_try(
    worker, settings, admin_client, monkeypatch
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    monkeypatch.setattr(email_users, "max_retries", 1)
    _seven_users_and_two_left_out()

    job = generators.start(EMAIL_ACTIVE_USERS, {"subject": "Hi", "body": "x"})
    wait_until(lambda: _all_ended(job.pk), what="every send to end")

    job.refresh_from_db()
    assert (job.rows_succeeded, job.rows_failed) == (0, 8)
    assert job.failures[0].startswith("the mail server failed every try: ")


@pytest.mark.django_db
def test_a_subject_with_a_line_break_is_refused_with_a_message(admin_client):
    for subject in ("Hello\nWorld", "Hello\r\nWorld", "Hello\rWorld"):
        response = admin_client.post(
            "/accounts/email-all/", {"subject": subject, "body": "x", "confirmed": "True"}
        )

        assert response.status_code == 200
        assert "The subject must be a single line: remove the line breaks." in (
            response.content.decode()
        )
    assert not GeneratorJob.objects.exists()


@pytest.mark.django_db
def test_the_page_needs_the_email_permission(client, django_user_model):
    assert client.get("/accounts/email-all/").url.startswith("/accounts/login/")
    for someone in (
        django_user_model.objects.create_user("plain", "plain@example.com", "pass-word-1"),
        make_staff("officer", "Roll officers", "Operators"),
    ):
        client.force_login(someone)
        refused = client.post("/accounts/email-all/", {"subject": "Hi", "body": "x"})
        assert client.get("/accounts/email-all/").status_code == 403
        assert refused.status_code == 403
    client.force_login(make_staff("comms", "Communications"))
    assert client.get("/accounts/email-all/").status_code == 200
    assert not GeneratorJob.objects.exists()


@pytest.mark.django_db
def test_an_empty_subject_is_refused_with_a_message(admin_client):
    response = admin_client.post("/accounts/email-all/", {"subject": "", "body": "x"})

    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not GeneratorJob.objects.exists()
