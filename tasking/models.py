"""Rows the reusable task layer keeps: generator jobs, the outbox, chord votes, results."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django_celery_results.managers import TaskResultManager
from django_celery_results.models import TaskResult


class GeneratorJob(models.Model):
    """Progress of one chunked generator run; every field is JSON-friendly."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        WAITING = "waiting", "waiting for the queue to drain"
        DONE = "done"
        FAILED = "failed"

    name = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Each step message carries the step it expects; a duplicate of an old step is dropped.
    step = models.PositiveIntegerField(default=0)
    last_id = models.BigIntegerField(default=0)
    # Rows handed to chunk tasks so far.
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(null=True, blank=True)
    # What the chunk tasks report once each row's work has ended (generators.record_outcome):
    # queued is not done, so an email job counts a recipient only when the send is over.
    rows_succeeded = models.PositiveBigIntegerField(default=0)
    rows_failed = models.PositiveBigIntegerField(default=0)
    # The first few reasons rows failed (FAILURES_KEPT), for the job's page.
    failures = models.JSONField(default=list, blank=True)
    max_queue_depth = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.state})"

    @property
    def percent(self) -> int:
        """Return progress as a whole percentage (0 when the total is unknown)."""
        if not self.rows_total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def rows_ended(self) -> int:
        """Rows whose work is over, successfully or not."""
        return self.rows_succeeded + self.rows_failed

    @property
    def ended_percent(self) -> int:
        """Return the share of rows whose work is over, as a whole percentage."""
        if not self.rows_total:
            return 100 if self.all_ended else 0
        return min(100, self.rows_ended * 100 // self.rows_total)

    @property
    def all_ended(self) -> bool:
        """Whether every row was handed out and every one of them has reported its end."""
        return self.state == self.State.DONE and self.rows_ended >= self.rows_done


class OutboxMessage(models.Model):
    """A task message written in the caller's transaction and published after commit."""

    task_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="tasking_outbox_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id}"


class ChordVote(models.Model):
    """A chord header task already counted, so a second delivery of it is not counted again.

    django-celery-results counts every completion of a header task, so a message run
    twice (a redelivery after a lost ack) would fire the chord's callback one task early.
    The rows of a chord are deleted when its callback is sent.
    """

    task_id = models.CharField(max_length=255, unique=True)
    group_id = models.CharField(max_length=255, db_index=True)
    counted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.task_id} in {self.group_id}"


class ResultWriter(TaskResultManager):
    """Writes a task's result in one statement: an insert that updates the row if it exists.

    django-celery-results reads the row, then inserts or saves it in a transaction: four
    round trips and two commits for every task. The row of a task that recorded STARTED
    keeps its ``date_started`` and ``date_created``, as there.
    """

    def store_result(  # type: ignore[override]  # the same parameters, annotated
        self,
        content_type: str,
        content_encoding: str,
        task_id: str,
        result: Any,
        status: str,
        traceback: str | None = None,
        meta: Any = None,
        periodic_task_name: str | None = None,
        task_name: str | None = None,
        task_args: str | None = None,
        task_kwargs: str | None = None,
        worker: str | None = None,
        using: str | None = None,
        **kwargs: Any,
    ) -> TaskResult:
        fields = {
            "status": status,
            "result": result,
            "traceback": traceback,
            "meta": meta,
            "content_encoding": content_encoding,
            "content_type": content_type,
            "periodic_task_name": periodic_task_name,
            "task_name": task_name,
            "task_args": task_args,
            "task_kwargs": task_kwargs,
            "worker": worker,
        }
        if "date_started" in kwargs:
            fields["date_started"] = kwargs["date_started"]
        row = self.model(task_id=task_id, **fields)
        self.using(using).bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["task_id"],
            update_fields=[*fields, "date_done"],
        )
        return row


class StoredResult(TaskResult):
    """django-celery-results' task result, written by ResultWriter (tasking/results.py)."""

    objects = ResultWriter()

    class Meta:
        proxy = True
        # The operations pages show task results, tracebacks and worker names.
        permissions = [
            ("view_operations", "Can see the Tasks dashboard, /metrics and /healthz details")
        ]
