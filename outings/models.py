"""Outings, the people who join them, and every tweet the site sends about them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class OutingQuerySet(models.QuerySet):
    def upcoming(self, *, now: datetime | None = None) -> OutingQuerySet:
        """Outings that have not started yet, soonest first."""
        return self.filter(starts_at__gt=now or timezone.now()).order_by("starts_at")


class Outing(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    place = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outings"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OutingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("outings:detail", args=[self.pk])

    def has_started(self, *, now: datetime | None = None) -> bool:
        """Say whether the outing has begun."""
        return self.starts_at <= (now or timezone.now())


class ParticipantQuerySet(models.QuerySet):
    def due_for_reminder(self, *, now: datetime, window: timedelta) -> ParticipantQuerySet:
        """Participants who asked for a reminder, have none yet, and start within the window."""
        return self.filter(
            wants_reminder=True,
            reminded_at__isnull=True,
            tweets__isnull=True,
            outing__starts_at__gt=now,
            outing__starts_at__lte=now + window,
        )


class XHandle(models.Model):
    """An X handle and the one account that uses it on this site.

    The site tweets "@handle" in reminders: a handle claimed by one account cannot be
    used by another, so nobody makes the site mention a stranger again and again.
    """

    # 15: the longest handle X allows.
    handle = models.CharField(max_length=15)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="x_handles"
    )
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # X handles are case-insensitive: @Ada and @ada are one handle.
            models.UniqueConstraint(Lower("handle"), name="outings_xhandle_one_owner"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Participant(models.Model):
    outing = models.ForeignKey(Outing, on_delete=models.CASCADE, related_name="participants")
    # Empty only for people who joined before joining needed an account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="participations",
    )
    name = models.CharField(max_length=100)
    # 15: the longest handle X allows.
    handle = models.CharField(max_length=15)
    wants_reminder = models.BooleanField(default=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            # X handles are case-insensitive: @Ada and @ada are one person.
            models.UniqueConstraint(
                "outing", Lower("handle"), name="outings_participant_one_join_per_handle"
            ),
            models.UniqueConstraint(
                fields=["outing", "user"], name="outings_participant_one_join_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Tweet(models.Model):
    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement"
        REMINDER = "reminder"

    class State(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        RETRYING = "retrying"
        FAILED = "failed"

    # "announce:<outing id>" or "reminder:<participant id>": one tweet per purpose, ever.
    idempotency_key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    outing = models.ForeignKey(
        Outing, null=True, blank=True, on_delete=models.SET_NULL, related_name="tweets"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="tweets"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set while one worker is sending; a claim whose worker died lapses at this time.
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state"], name="outings_tweet_state")]
        permissions = [("retry_tweet", "Can send a failed tweet again")]

    def __str__(self) -> str:
        return self.idempotency_key

    @property
    def is_pending(self) -> bool:
        return self.state in {self.State.QUEUED, self.State.RETRYING}
