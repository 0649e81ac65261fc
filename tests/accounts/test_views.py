"""The staff page "Email all active users": a generator job and its progress."""

from __future__ import annotations

from django.contrib.auth.models import User

from tasking.models import GeneratorJob
from tests.factories import make_staff
from tests.tasking.test_locks import wait_for


def test_staff_email_every_active_user_once_and_watch_the_job_finish(worker, smtp_inbox, client):
    staff = User.objects.create_superuser("boss", "boss@example.com", "x-long-password-1")
    User.objects.bulk_create(User(username=f"a{i}", email=f"a{i}@example.com") for i in range(7))
    User.objects.create(username="gone", email="gone@example.com", is_active=False)
    User.objects.create(username="no-address", email="")
    client.force_login(staff)

    response = client.post("/accounts/email-all/", {"subject": "Hello", "body": "News."})

    job = GeneratorJob.objects.get()
    assert response.url == f"/accounts/email-all/{job.pk}/"
    assert job.rows_total == 8
    wait_for(lambda: len(smtp_inbox.messages) >= 8, message="eight emails")
    wait_for(lambda: GeneratorJob.objects.get().state == "done", message="the job to finish")
    page = client.get(response.url).content.decode()
    assert "8 of 8 users (100%)" in page
    assert '<strong id="state">Done</strong>' in page
    recipients = sorted(m["To"] for m in smtp_inbox.messages)
    assert recipients == sorted(["boss@example.com"] + [f"a{i}@example.com" for i in range(7)])
    assert {m["Subject"] for m in smtp_inbox.messages} == {"Hello"}


def test_the_page_needs_the_email_permission(client, django_user_model):
    assert client.get("/accounts/email-all/").url.startswith("/accounts/login/")
    for someone in (
        django_user_model.objects.create_user("plain", "plain@example.com", "pass-word-1"),
        make_staff("officer", "Roll officers", "Operators"),
    ):
        client.force_login(someone)
        assert client.get("/accounts/email-all/").status_code == 403
        assert (
            client.post("/accounts/email-all/", {"subject": "Hi", "body": "x"}).status_code == 403
        )
    client.force_login(make_staff("comms", "Communications"))
    assert client.get("/accounts/email-all/").status_code == 200
    assert not GeneratorJob.objects.exists()


def test_an_empty_subject_is_refused_with_a_message(admin_client):
    response = admin_client.post("/accounts/email-all/", {"subject": "", "body": "x"})

    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not GeneratorJob.objects.exists()
