"""The reminder job is declared in settings and synced into django-celery-beat's schedule."""

from __future__ import annotations

from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from project.celery import app

ENTRY = "outings.send_due_reminders"


def test_the_reminder_entry_runs_every_five_minutes_and_expires_sooner():
    entry = app.conf.beat_schedule[ENTRY]

    assert entry["task"] == "outings.send_due_reminders"
    assert entry["schedule"].total_seconds() == 300
    assert 0 < entry["options"]["expires"] < 300
    assert entry["options"]["expire_seconds"] == entry["options"]["expires"]
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_the_database_scheduler_syncs_the_entry_into_a_periodic_task(transactional_db):
    assert not PeriodicTask.objects.filter(name=ENTRY).exists()

    scheduler = DatabaseScheduler(app=app)

    periodic = PeriodicTask.objects.get(name=ENTRY)
    assert periodic.task == "outings.send_due_reminders"
    assert (periodic.interval.every, periodic.interval.period) == (300, "seconds")
    assert periodic.expire_seconds == 240
    assert periodic.enabled
    assert scheduler.schedule[ENTRY].options["expires"] == 240
