"""The @task convention: explicit names, **kwargs, task-tagged log lines."""

import logging
import uuid

import pytest

from tasking.base import ProjectTask, task
from tests.tasks import add


def test_task_without_var_keyword_arguments_is_refused_at_declaration():
    with pytest.raises(TypeError, match=r"must accept \*\*kwargs"):

        @task(name="tests.strict")
        def strict(x):
            return x


def test_task_name_must_say_its_app():
    with pytest.raises(ValueError, match=r"must be '<app>\.<verb>'"):
        task(name="add")


def test_declared_task_uses_the_project_base_and_explicit_name():
    assert isinstance(add, ProjectTask)
    assert add.name == "tests.add"
    assert hasattr(add, "delay_on_commit")


def test_every_line_logged_inside_a_task_carries_its_name_and_id(worker, caplog):
    caplog.set_level(logging.INFO, logger="tests.tasks")

    result = add.delay(3, 4)
    result.get(timeout=20)

    lines = [r for r in caplog.records if r.name == "tests.tasks"]
    assert lines, "the task logged nothing"
    assert {(r.task_name, r.task_id) for r in lines} == {("tests.add", result.id)}


def test_lines_logged_outside_a_task_are_marked_as_such(caplog):
    caplog.set_level(logging.INFO)

    logging.getLogger("tests.outside").info("hello")

    assert caplog.records[-1].task_id == "-"


def test_run_once_runs_two_messages_with_one_task_id_once(worker):
    from tests.tasking.tasks import record_rows, redis

    run, task_id = f"tests:{uuid.uuid4().hex}", uuid.uuid4().hex
    first = record_rows.apply_async(([1, 2], run), task_id=task_id)
    second = record_rows.apply_async(([1, 2], run), task_id=task_id)
    first.get(timeout=20)
    second.get(timeout=20)
    # A later message has run, so the worker has taken both copies off the queue.
    record_rows.delay([3], run).get(timeout=20)

    try:
        assert redis().hgetall(run) == {b"1": b"1", b"2": b"1", b"3": b"1"}
    finally:
        redis().delete(run)
