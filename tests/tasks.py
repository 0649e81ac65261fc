"""Tasks that exist only for the test suite; workers load them with ``--include tests.tasks``."""

import logging

from tasking.base import task

logger = logging.getLogger(__name__)


@task(name="tests.add")
def add(x: int, y: int, **kwargs) -> int:
    """Add two numbers."""
    logger.info("adding %s and %s", x, y)
    return x + y


@task(name="tests.total")
def total(values: list[int], **kwargs) -> int:
    """Sum a chord header's results."""
    return sum(values)
