"""Log lines: task name and id inside tasks, the request id in web requests, JSON on demand."""

import json
import logging

import pytest

from operations.logging import JsonFormatter
from project.celery import app
from tests.tasks import add


def test_json_lines_logged_inside_a_task_carry_its_name_and_id(worker, caplog):
    caplog.set_level(logging.INFO, logger="tests.tasks")

    result = add.delay(5, 6)
    result.get(timeout=20)

    record = next(r for r in caplog.records if r.name == "tests.tasks")
    line = json.loads(JsonFormatter().format(record))
    assert line["task_name"] == "tests.add"
    assert line["task_id"] == result.id
    assert line["message"] == "adding 5 and 6"
    assert line["level"] == "INFO"


@pytest.mark.django_db
def test_web_log_lines_carry_the_request_id_the_proxy_sent(admin_client, caplog, monkeypatch):
    # An unreachable broker makes /metrics log a warning while serving the request.
    monkeypatch.setattr(app.conf, "broker_read_url", "amqp://guest:guest@127.0.0.1:1//")
    caplog.set_level(logging.WARNING, logger="operations.inspection")

    response = admin_client.get("/metrics", headers={"X-Request-ID": "req-42"})

    assert response["X-Request-ID"] == "req-42"
    warnings = [r for r in caplog.records if r.name == "operations.inspection"]
    assert warnings
    assert {r.request_id for r in warnings} == {"req-42"}
    assert json.loads(JsonFormatter().format(warnings[0]))["request_id"] == "req-42"


@pytest.mark.django_db
def test_a_request_without_a_usable_id_gets_a_fresh_one(client):
    first = client.get("/", headers={"X-Request-ID": "not ok\nforged: line"})
    second = client.get("/")

    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_lines_outside_requests_and_tasks_say_so(caplog):
    caplog.set_level(logging.INFO)

    logging.getLogger("tests.outside").info("hello")

    assert caplog.records[-1].request_id == "-"
    assert json.loads(JsonFormatter().format(caplog.records[-1]))["task_id"] == "-"
