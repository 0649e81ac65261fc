"""Mail to many users, as named actions for admin actions and views."""

from __future__ import annotations

from collections.abc import Iterable

from accounts import emails
from accounts.tasks import EMAIL_ACTIVE_USERS, send_password_resets
from tasking import enqueue
from tasking.models import GeneratorJob


def queue_password_resets(user_ids: Iterable[int], *, domain: str, use_https: bool) -> int:
    """Queue one reset-email task per batch of users, after commit; return how many users."""
    count = 0
    for batch in emails.batches(user_ids):
        enqueue.after_commit(send_password_resets, batch, domain, use_https)
        count += len(batch)
    return count


def email_active_users(*, subject: str, body: str) -> GeneratorJob:
    """Start mailing a notice to every active user, a chunk of users per task."""
    return enqueue.chunked(EMAIL_ACTIVE_USERS, {"subject": subject, "body": body})
