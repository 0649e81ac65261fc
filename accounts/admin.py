"""The user admin, with a batch password-reset action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts import services

User = get_user_model()


class BacklotUserAdmin(UserAdmin):
    actions = ["send_password_reset_emails"]

    def has_send_password_resets_permission(self, request) -> bool:
        return request.user.has_perm("accounts.send_password_resets")

    @admin.action(description="Send password reset emails", permissions=["send_password_resets"])
    def send_password_reset_emails(self, request, queryset) -> None:
        """Queue one reset-email task per batch of the selected users, after commit."""
        count = services.queue_password_resets(
            queryset.order_by("pk").values_list("pk", flat=True),
            domain=request.get_host(),
            use_https=request.is_secure(),
        )
        self.message_user(
            request,
            f"Sending password reset emails to {count} users in the background.",
            messages.SUCCESS,
        )


admin.site.unregister(User)
admin.site.register(User, BacklotUserAdmin)
