"""Email tasks: each takes a batch of user ids."""

from __future__ import annotations

from typing import Any

from accounts import emails
from tasking import backoff, generators
from tasking.base import task
from tasking.generators import ChunkedGenerator, register

# Every mailing task: an SMTP hiccup (OSError) retries with backoff, and a batch whose
# message is delivered again after it succeeded is not mailed twice (run_once).
EMAIL_TASK: dict[str, Any] = {
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


# Seconds before the n-th retry of a batch the mail server cut short: about 2**n, at most
# 10 minutes, jittered (the same curve as EMAIL_TASK's retry_backoff).
EMAIL_RETRY_BACKOFF_MAX = 600


@task(name="accounts.email_users", bind=True, run_once=True, acks_late=True, max_retries=5)
def email_users(
    self,
    user_ids: list[int],
    subject: str,
    body: str,
    generator_job_id: int | None = None,
    **kwargs,
) -> dict:
    """Send one notice to each user of one batch; report each one sent or failed to the job.

    A mail server that goes away is tried again for the recipients not yet sent (the
    same message id, so run_once still holds); once retries run out they count as failed.
    """
    try:
        outcome = emails.send_notice(user_ids=user_ids, subject=subject, body=body)
    except OSError as exc:
        # The connection could not be opened: nothing was sent.
        outcome = emails.NoticeOutcome(unsent=list(user_ids), interruption=exc)
    if outcome.unsent and self.request.retries < self.max_retries:
        _record(generator_job_id, outcome.sent, outcome.failed)
        countdown = backoff.countdown(self.request.retries + 1, base=1, cap=EMAIL_RETRY_BACKOFF_MAX)
        raise self.retry(
            args=[outcome.unsent, subject, body],
            kwargs={**kwargs, "generator_job_id": generator_job_id},
            countdown=countdown,
            exc=outcome.interruption,
        )
    reason = f"the mail server failed every try: {outcome.interruption}"
    failed = outcome.failed + [(pk, reason) for pk in outcome.unsent]
    _record(generator_job_id, outcome.sent, failed)
    return {"sent": len(outcome.sent), "failed": len(failed)}


def _record(job_id: int | None, sent: list[int], failed: list[tuple[int, str]]) -> None:
    if job_id is not None and (sent or failed):
        generators.record_outcome(
            job_id=job_id, succeeded=len(sent), failures=[reason for _, reason in failed]
        )


EMAIL_ACTIVE_USERS = "accounts.email_active_users"

register(
    ChunkedGenerator(
        name=EMAIL_ACTIVE_USERS,
        rows=emails.active_users,
        task="accounts.email_users",
        chunk_size=emails.BATCH_SIZE,
    )
)
