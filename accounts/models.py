"""Permissions of the staff actions on users (no table of its own)."""

from __future__ import annotations

from django.contrib.auth.models import User


class Recipient(User):
    """A user as the receiver of staff mailings; holds the mailing permissions."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = [
            ("email_all_users", "Can email every active user"),
            ("send_password_resets", "Can send password-reset emails to chosen users"),
        ]
