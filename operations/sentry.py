"""Send errors from web, workers and beat to Sentry (only when SENTRY_DSN is set)."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Start the Sentry SDK with the Django and Celery integrations."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration(monitor_beat_tasks=False)],
        # User names and addresses stay out of Sentry unless a team opts in.
        send_default_pii=False,
    )
