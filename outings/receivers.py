"""Signal receivers, connected in ``OutingsConfig.ready``."""

from __future__ import annotations

from typing import Any

from outings import services
from outings.models import Outing


def announce_new_outing(
    sender: type[Outing], instance: Outing, created: bool, raw: bool, **kwargs: Any
) -> None:
    """Queue the announcement of a new outing once it is committed."""
    if created and not raw:
        # The only place an announcement is queued.
        services.queue_announcement(instance.pk)
