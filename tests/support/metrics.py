"""Reading a scrape of /metrics as Prometheus would."""

from __future__ import annotations

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
