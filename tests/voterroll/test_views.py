"""Staff Rolls pages: start, watch, download; staff only."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import make_staff
from voterroll import drawing, rolls
from voterroll.models import RollRun, Station

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return make_staff("staff", "Roll officers", password="pw-staff-1")


def test_rolls_pages_send_anonymous_visitors_to_sign_in_and_refuse_other_users(
    client, django_user_model
):
    run = RollRun.objects.create()
    urls = (
        reverse("voterroll:index"),
        reverse("voterroll:run", args=[run.id]),
        reverse("voterroll:progress", args=[run.id]),
        reverse("voterroll:file", args=[run.id, "metadata.json"]),
    )
    for url in urls:
        assert client.get(url).url.startswith(reverse("login"))

    client.force_login(django_user_model.objects.create_user("someone"))
    assert [client.get(url).status_code for url in urls] == [403] * len(urls)
    client.force_login(make_staff("operator", "Operators", "Communications"))
    assert [client.get(url).status_code for url in urls] == [403] * len(urls)
    assert client.post(reverse("voterroll:cancel", args=[run.id])).status_code == 403


def test_staff_who_may_only_watch_cannot_start_cancel_or_download(client, seeded):
    watcher = make_staff("watcher")
    watcher.user_permissions.add(Permission.objects.get(codename="view_rollrun"))
    run = RollRun.objects.create(state="rendering")
    client.force_login(watcher)

    index = client.get(reverse("voterroll:index"))
    started = client.post(reverse("voterroll:index"), {"strategy": "single"})
    cancelled = client.post(reverse("voterroll:cancel", args=[run.id]))
    downloaded = client.get(reverse("voterroll:file", args=[run.id, "metadata.json"]))

    assert index.status_code == 200
    assert "Generate roll" not in index.content.decode()
    assert (started.status_code, cancelled.status_code, downloaded.status_code) == (403,) * 3
    assert RollRun.objects.count() == 1
    run.refresh_from_db()
    assert run.state == "rendering"


def test_starting_a_run_enqueues_it_after_commit(
    client, staff, seeded, django_capture_on_commit_callbacks
):
    client.force_login(staff)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("voterroll:index"), {"strategy": "per_center"})

    assert response.status_code == 302
    assert RollRun.objects.get().strategy == "per_center"
    assert len(callbacks) == 1


def test_starting_without_voters_says_what_to_do(client, staff):
    client.force_login(staff)

    response = client.post(reverse("voterroll:index"), {"strategy": "single"}, follow=True)

    assert "run manage.py seed_voters first" in response.content.decode()
    assert not RollRun.objects.exists()


def test_download_serves_run_files_and_refuses_paths_outside_the_run(client, staff, seeded):
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    rolls.finalize(run.id)
    client.force_login(staff)
    station = Station.objects.filter(run=run).first()

    book = client.get(reverse("voterroll:file", args=[run.id, station.book_name]))
    outside = client.get(reverse("voterroll:file", args=[run.id, "../../settings.py"]))

    assert book.status_code == 200
    assert b"".join(book.streaming_content).startswith(b"%PDF")
    assert outside.status_code == 404
    page = client.get(reverse("voterroll:run", args=[run.id])).content.decode()
    assert station.book_name in page and "metadata.json" in page


def test_cancel_from_the_run_page(client, staff, seeded):
    run = rolls.assign(rolls.create_run(strategy="per_station").id)
    client.force_login(staff)

    client.post(reverse("voterroll:cancel", args=[run.id]))

    run.refresh_from_db()
    assert run.state == "cancelled"


@pytest.mark.browser
@pytest.mark.usefixtures("worker")
def test_staff_start_a_run_watch_it_reach_100_percent_and_download_the_zip(
    seeded, staff, live_server, tmp_path, browser_page
):
    # Rows are made by the fixtures above, before Playwright's event loop starts.
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/rolls/")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "pw-staff-1")
    page.click("button[type=submit], input[type=submit]")
    page.select_option("select[name=strategy]", "per_station")
    page.click("form.start-run button")

    row = page.locator("tr.run").first
    page.wait_for_function(
        "document.querySelector('tr.run progress').value === 100", timeout=60_000
    )
    assert row.locator(".state").inner_text() == "done"
    assert row.locator(".percent").inner_text() == "100%"
    with page.expect_download() as download:
        row.locator("a.zip").click()
    saved = tmp_path / "roll.zip"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    assert page.console_errors == []
