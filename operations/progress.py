"""Progress of long-running work, shown on the Tasks dashboard.

Apps register providers from their ``AppConfig.ready()``, so operations never imports
them::

    from operations import progress
    progress.register(running_roll_generations)

A provider is a callable returning a list of dicts with ``label``, ``done``,
``total``, ``state`` and ``url`` (``url`` may be empty).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


Provider = Callable[[], list[dict[str, Any]]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider of progress rows (registering one twice has no effect)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister(provider: Provider) -> None:
    """Remove a provider."""
    if provider in _providers:
        _providers.remove(provider)


def collect() -> list[dict[str, Any]]:
    """Gather every provider's rows with a percentage; a failing provider is logged, not fatal."""
    rows = []
    for provider in _providers:
        try:
            items = provider()
        except Exception:
            logger.exception("progress provider %r failed", provider)
            continue
        for item in items:
            done, total = int(item.get("done", 0)), int(item.get("total", 0))
            percent = min(100, round(100 * done / total)) if total else 0
            rows.append({"url": "", "state": "", **item, "percent": percent})
    return rows
