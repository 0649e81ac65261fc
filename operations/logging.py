"""Tag every log record with the Celery task or web request it was logged from."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from celery import current_task

# Set by operations.request_ids.RequestIdMiddleware for the length of one request.
request_id: ContextVar[str] = ContextVar("request_id", default="-")

_installed = False


def install_record_factory() -> None:
    """Give every LogRecord ``task_name``, ``task_id`` and ``request_id`` ("-" if none).

    A record factory, unlike a handler filter, reaches every handler (including
    pytest's caplog and Sentry) and every logger, domain modules included.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        task = current_task
        task_request_id = getattr(getattr(task, "request", None), "id", None) if task else None
        record.task_name = task.name if task_request_id else "-"
        record.task_id = task_request_id or "-"
        record.request_id = request_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class TaskFormatter(logging.Formatter):
    """A Formatter that tolerates records made before the record factory was installed."""

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("task_name", "-")
        record.__dict__.setdefault("task_id", "-")
        record.__dict__.setdefault("request_id", "-")
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
            "task_name": getattr(record, "task_name", "-"),
            "task_id": getattr(record, "task_id", "-"),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
