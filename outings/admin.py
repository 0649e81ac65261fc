from django.contrib import admin, messages

from outings import services
from outings.models import Outing, Participant, Tweet


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    readonly_fields = ["reminded_at", "joined_at"]


@admin.register(Outing)
class OutingAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "place", "created_by"]
    search_fields = ["title", "place"]
    date_hierarchy = "starts_at"
    inlines = [ParticipantInline]


@admin.register(Tweet)
class TweetAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "kind", "state", "attempts", "last_error", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["idempotency_key", "text"]
    readonly_fields = [
        "idempotency_key",
        "kind",
        "text",
        "outing",
        "participant",
        "state",
        "attempts",
        "last_error",
        "claimed_until",
        "next_attempt_at",
        "remote_id",
        "created_at",
        "sent_at",
    ]
    actions = ["retry_failed"]

    def has_retry_tweet_permission(self, request) -> bool:
        return request.user.has_perm("outings.retry_tweet")

    @admin.action(description="Retry selected failed tweets", permissions=["retry_tweet"])
    def retry_failed(self, request, queryset):
        requeued = services.requeue_tweets(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{len(requeued)} tweet(s) queued again.", messages.SUCCESS)
