"""System checks: the outings' rate limits must parse, or every create and join would fail."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from tasking.ratelimit import parse_rate


@checks.register()
def rate_limits_parse(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Refuse to start with an OUTING_*_RATE that is not '<count>/<window>'."""
    errors: list[checks.CheckMessage] = []
    for name in ("OUTING_CREATE_RATE", "OUTING_JOIN_RATE"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError as exc:
            errors.append(checks.Error(f"{name}: {exc}", id="outings.E001"))
    return errors
