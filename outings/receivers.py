"""Signal receivers, connected in ``OutingsConfig.ready``."""

from __future__ import annotations

from typing import Any

from outings.models import Outing
from outings.tasks import announce_outing
from tasking import outbox


def announce_new_outing(
    sender: type[Outing], instance: Outing, created: bool, raw: bool, **kwargs: Any
) -> None:
    """Queue the announcement of a new outing once it is committed."""
    if created and not raw:
        # The only place an announcement is published. Through the outbox: the row
        # commits with the outing, so a process dying before the publish loses nothing
        # (the relay publishes it).
        outbox.enqueue(announce_outing, instance.pk)
