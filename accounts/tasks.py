"""Email tasks: each takes a batch of user ids."""

from __future__ import annotations

from accounts import emails
from tasking.base import task
from tasking.generators import ChunkedGenerator, register

# Every mailing task: an SMTP hiccup (OSError) retries with backoff, and a batch whose
# message is delivered again after it succeeded is not mailed twice (run_once).
EMAIL_TASK = {
    "run_once": True,
    "acks_late": True,
    "max_retries": 5,
    "autoretry_for": (OSError,),
    "retry_backoff": True,
}


@task(name="accounts.send_password_resets", **EMAIL_TASK)
def send_password_resets(user_ids: list[int], domain: str, use_https: bool, **kwargs) -> int:
    """Send a password-reset email to each user of one batch."""
    return emails.send_password_resets(user_ids=user_ids, domain=domain, use_https=use_https)


@task(name="accounts.email_users", **EMAIL_TASK)
def email_users(user_ids: list[int], subject: str, body: str, **kwargs) -> int:
    """Send one notice to each user of one batch."""
    return emails.send_notice(user_ids=user_ids, subject=subject, body=body)


EMAIL_ACTIVE_USERS = "accounts.email_active_users"

register(
    ChunkedGenerator(
        name=EMAIL_ACTIVE_USERS,
        rows=emails.active_users,
        task="accounts.email_users",
        chunk_size=emails.BATCH_SIZE,
    )
)
