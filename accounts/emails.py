"""Emails to users: password resets through Django's own machinery, and notices."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMessage, get_connection
from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# 100 users per task: a batch of SMTP sends finishes well inside the 240 s soft limit,
# and a retried batch repeats little.
BATCH_SIZE = 100


def batches(ids: Iterable[int], size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """Split ids into lists of at most ``size``."""
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _OneUserResetForm(PasswordResetForm):
    """Django's reset form, aimed at one chosen user instead of every user with an email."""

    def __init__(self, user) -> None:
        super().__init__({"email": user.email})
        self.user = user

    def get_users(self, email):
        return [self.user]


def send_password_resets(*, user_ids: list[int], domain: str, use_https: bool) -> int:
    """Send Django's password-reset email to each active user with an address; return how many."""
    sent = 0
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    for user in users.order_by("pk"):
        form = _OneUserResetForm(user)
        if not form.is_valid():
            logger.warning("user %s has an invalid email address; no reset sent", user.pk)
            continue
        form.save(domain_override=domain, use_https=use_https)
        sent += 1
    return sent


@dataclass
class NoticeOutcome:
    """How one batch of a notice ended, recipient by recipient."""

    sent: list[int] = field(default_factory=list)
    # (user id, reason): this recipient will never get it (a bad header, a refused address).
    failed: list[tuple[int, str]] = field(default_factory=list)
    # Not tried, because the mail server went away mid-batch: worth another try.
    unsent: list[int] = field(default_factory=list)
    interruption: Exception | None = None


def _for_good(exc: Exception) -> bool:
    """Whether a send's error is about this message (final) rather than the server (passing)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        # 5xx: the server refuses this message; 4xx: try again later.
        return exc.smtp_code >= 500
    # BadHeaderError and other ValueErrors come from the message itself; other OSErrors
    # (a dropped connection, a timeout) from the server.
    return not isinstance(exc, OSError)


def send_notice(*, user_ids: list[int], subject: str, body: str) -> NoticeOutcome:
    """Send one plain-text notice to each of the users; say how each send ended.

    Users no longer active or without an address count as failed, with the reason. A
    connection that cannot be opened raises OSError before anything is sent.
    """
    outcome = NoticeOutcome()
    users = list(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .exclude(email="")
        .order_by("pk")
    )
    found = {user.pk for user in users}
    outcome.failed += [
        (pk, "no longer an active user with an email address") for pk in user_ids if pk not in found
    ]
    # One connection for the whole batch instead of one per message.
    with get_connection() as connection:
        for position, user in enumerate(users):
            message = EmailMessage(subject, body, to=[user.email], connection=connection)
            try:
                message.send()
            except Exception as exc:
                if not _for_good(exc):
                    outcome.unsent = [u.pk for u in users[position:]]
                    outcome.interruption = exc
                    break
                logger.warning("notice to user %s failed: %s", user.pk, exc)
                outcome.failed.append((user.pk, f"{user.email}: {exc}"))
            else:
                outcome.sent.append(user.pk)
    return outcome


def active_users(params: dict[str, Any]) -> QuerySet[Any]:
    """Return the users an "email all active users" job walks."""
    return get_user_model().objects.filter(is_active=True).exclude(email="")
