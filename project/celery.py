"""The Celery application shared by web, workers and beat."""

import os

from celery import Celery

from tasking import queues

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Queues a route or a worker's -Q names are declared like the settings' own.
app = Celery("project", amqp="tasking.queues:ProjectAMQP")
# Every CELERY_* setting in project/settings.py configures the app.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The dead-letter queue of every worker, and task expiry left to the worker.
queues.connect(app)
