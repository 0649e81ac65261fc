"""The viewer's time zone: the one they chose, else the one their browser reported.

Both live in cookies, so they work for signed-out visitors too: ``tz`` is set on the time
zone page, ``tz_detected`` by static/js/timezone.js from the browser's own setting. Pages
print times in the active zone, always with its name or abbreviation; forms read typed
times in it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from zoneinfo import ZoneInfo, available_timezones

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

CHOSEN_COOKIE = "tz"
DETECTED_COOKIE = "tz_detected"


@functools.cache
def known_zones() -> frozenset[str]:
    """Return the IANA zone names this host knows."""
    return frozenset(available_timezones())


def zone_named(name: str) -> ZoneInfo | None:
    """Return the zone of an IANA name, or None for anything else (cookies are user input)."""
    return ZoneInfo(name) if name in known_zones() else None


class ViewerTimeZoneMiddleware:
    """Activate the viewer's zone for the request; ``request.time_zone_source`` says why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = zone_named(request.COOKIES.get(CHOSEN_COOKIE, ""))
        detected = zone_named(request.COOKIES.get(DETECTED_COOKIE, ""))
        zone = chosen or detected
        source = "chosen" if chosen else "browser" if detected else "site"
        request.time_zone_source = source  # type: ignore[attr-defined]
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
