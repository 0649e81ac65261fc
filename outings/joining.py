"""Joining an outing: a signed-in account, its own X handle, a place left in the outing.

The site tweets "@handle" reminders, so who may join with which handle is a security
rule, not a form nicety: a handle belongs to the first account that joins with it, and
every check is made again here under a lock on the outing, so two joins at once can
neither overfill it nor share a handle.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from outings.models import Outing, Participant, XHandle


class JoinRefused(Exception):
    """A join that cannot happen; the message tells the person why."""


def handle_owner_id(handle: str) -> int | None:
    """Return the id of the account that uses ``handle`` here, or None if nobody does."""
    return XHandle.objects.filter(handle__iexact=handle).values_list("user_id", flat=True).first()


def handle_taken_message(handle: str) -> str:
    return f"@{handle} is used by another account here. Join with your own X handle."


def join(
    *, outing_id: int, user: User, name: str, handle: str, wants_reminder: bool
) -> Participant:
    """Add ``user`` to an outing as @handle; raise JoinRefused saying why not."""
    with transaction.atomic():
        # One join of an outing at a time: the count below stays true until the insert.
        outing = Outing.objects.select_for_update().get(id=outing_id)
        if outing.has_started():
            raise JoinRefused("This outing has already started: joining is closed.")
        if outing.participants.filter(user=user).exists():
            raise JoinRefused("You have already joined this outing.")
        cap = settings.OUTING_MAX_PARTICIPANTS
        if outing.participants.count() >= cap:
            raise JoinRefused(f"This outing is full: it takes at most {cap} people.")
        claimed, _ = XHandle.objects.get_or_create(
            handle__iexact=handle, defaults={"handle": handle, "user": user}
        )
        if claimed.user_id != user.pk:
            raise JoinRefused(handle_taken_message(handle))
        if outing.participants.filter(handle__iexact=handle).exists():
            raise JoinRefused(f"@{handle} has already joined this outing.")
        return Participant.objects.create(
            outing=outing, user=user, name=name, handle=handle, wants_reminder=wants_reminder
        )
