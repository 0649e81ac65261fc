"""Fixtures for the operations tests: a staff client, /metrics, a dashboard without history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client

from tests.factories import make_staff
from tests.support.metrics import METRICS_TOKEN, Samples


@pytest.fixture
def fresh_dashboard():
    """No shared worker answer, and no counter snapshot, left by an earlier test."""
    from django.core.cache import cache
    from django.utils import timezone

    from operations import dashboard, throughput

    minutes = throughput.chart_minutes(
        timezone.now() + timedelta(minutes=5), 2 * dashboard.CHART_MINUTES
    )
    cache.delete_many(
        [dashboard.SHARED_BROKER_KEY, *(throughput.minute_key(minute) for minute in minutes)]
    )


@pytest.fixture
def staff_client(client: Client, django_user_model) -> Client:
    """A client signed in as a staff member of the Operators group."""
    client.force_login(make_staff("staff", "Operators"))
    return client


@pytest.fixture
def scrape(client: Client, settings) -> Callable[[], Samples]:
    """Fetch /metrics with the bearer token, as Prometheus does."""
    settings.METRICS_TOKEN = METRICS_TOKEN

    def read() -> Samples:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.content
        return Samples(response.content.decode())

    return read
