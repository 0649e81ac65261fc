"""Tag every log record with the Celery task it was logged from."""

from __future__ import annotations

import logging

from celery import current_task

_installed = False


def install_record_factory() -> None:
    """Give every LogRecord ``task_name`` and ``task_id`` ("-" outside a task).

    A record factory, unlike a handler filter, reaches every handler (including
    pytest's caplog and Sentry) and every logger, domain modules included.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        task = current_task
        request_id = getattr(getattr(task, "request", None), "id", None) if task else None
        record.task_name = task.name if request_id else "-"
        record.task_id = request_id or "-"
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class TaskFormatter(logging.Formatter):
    """A Formatter that tolerates records made before the record factory was installed."""

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("task_name", "-")
        record.__dict__.setdefault("task_id", "-")
        return super().format(record)
