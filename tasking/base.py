"""The project's task conventions: every app declares its tasks with ``@task``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask

logger = logging.getLogger(__name__)


class ProjectTask(DjangoTask):
    """Base class of every project task: Django-aware (``delay_on_commit``), logged."""

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        logger.warning("retrying after %s: %s", type(exc).__name__, exc)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        logger.error("failed with %s: %s", type(exc).__name__, exc)


def task(*, name: str, **options: Any) -> Callable[[Callable[..., Any]], ProjectTask]:
    """Declare a project task with an explicit name and options on the decorator.

    The function must accept ``**kwargs``: during a rolling deploy a message sent by
    the next release may carry an argument this release does not know yet, and the
    task must still run rather than crash with a TypeError.
    """
    if "." not in name:
        raise ValueError(f"task name {name!r} must be '<app>.<verb>', e.g. 'posts.make_thumbnails'")

    def decorate(fn: Callable[..., Any]) -> ProjectTask:
        parameters = inspect.signature(fn).parameters.values()
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            raise TypeError(
                f"task {name!r} ({fn.__module__}.{fn.__qualname__}) must accept **kwargs, "
                "so messages from another release with extra arguments still run"
            )
        return shared_task(name=name, base=ProjectTask, **options)(fn)

    return decorate
