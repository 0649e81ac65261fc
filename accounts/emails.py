"""Emails to users: password resets through Django's own machinery, and notices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMessage, get_connection

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


def send_notice(*, user_ids: list[int], subject: str, body: str) -> int:
    """Send one plain-text notice to each active user with an address; return how many."""
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    messages = [EmailMessage(subject, body, to=[user.email]) for user in users.order_by("pk")]
    # One connection for the whole batch instead of one per message.
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def active_users(params: dict) -> object:
    """Return the users an "email all active users" job walks."""
    return get_user_model().objects.filter(is_active=True).exclude(email="")
