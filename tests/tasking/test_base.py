"""The @task convention: explicit names, **kwargs, task-tagged log lines."""

import logging

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
