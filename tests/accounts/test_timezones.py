"""The viewer's time zone: cookies, the time zone page, and what the middleware activates."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from accounts import timezones


def test_a_chosen_zone_beats_the_browsers_and_nonsense_is_ignored(rf):
    seen = []

    def view(request):
        seen.append((timezone.get_current_timezone_name(), request.time_zone_source))
        return None

    middleware = timezones.ViewerTimeZoneMiddleware(view)
    for cookies in (
        {"tz": "Asia/Tokyo", "tz_detected": "Europe/Paris"},
        {"tz_detected": "Europe/Paris"},
        {"tz": "../../etc/passwd", "tz_detected": "Not/AZone"},
    ):
        request = rf.get("/")
        request.COOKIES.update(cookies)
        middleware(request)

    assert seen == [
        ("Asia/Tokyo", "chosen"),
        ("Europe/Paris", "browser"),
        ("UTC", "site"),
    ]
    # Nothing stays active after the request.
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_time_zone_page_sets_and_clears_the_chosen_zone(client, db):
    chosen = client.post(reverse("time_zone"), {"zone": "America/Chicago", "next": "/outings/"})
    cleared = client.post(reverse("time_zone"), {"zone": "", "next": "/outings/"})

    assert chosen.status_code == 302 and chosen.url == "/outings/"
    assert chosen.cookies["tz"].value == "America/Chicago"
    assert cleared.cookies["tz"].value == ""  # deleted: the browser's zone applies again


def test_the_time_zone_page_refuses_an_unknown_zone_and_a_foreign_next(client, db):
    unknown = client.post(reverse("time_zone"), {"zone": "Mars/Olympus"})
    foreign = client.post(
        reverse("time_zone"), {"zone": "Europe/Oslo", "next": "https://evil.example/"}
    )

    assert unknown.status_code == 200
    assert "Select a valid choice" in unknown.content.decode()
    assert "tz" not in unknown.cookies
    assert foreign.url == "/"
