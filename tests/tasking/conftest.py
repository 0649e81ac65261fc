"""Fixtures for the tasking layer: a staff client and a reader of /metrics."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "test-metrics-token"


class Samples:
    """The samples of one scrape of /metrics."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.values: list[tuple[str, dict[str, str], float]] = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def total(self, metric: str, /, **labels: str) -> float:
        """Sum the samples called ``metric`` whose labels include ``labels``."""
        return sum(
            value
            for sample, have, value in self.values
            if sample == metric and all(have.get(k) == v for k, v in labels.items())
        )

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [have for sample, have, _ in self.values if sample == name]


@pytest.fixture
def staff_client(client: Client, django_user_model) -> Client:
    """A client signed in as a staff member."""
    user = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(user)
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
