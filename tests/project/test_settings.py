"""Settings: production checks, failure messages, and what must never be configured."""

import json
import secrets
import subprocess
import sys

from project.celery import app
from tests.processes import ROOT, manage, project_env

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "backlot.example.com",
}


def test_deploy_check_passes_with_production_settings():
    output = manage("check", "--deploy", "--fail-level", "WARNING", env=project_env(**PRODUCTION))

    assert "no issues" in output


def test_missing_secret_key_fails_at_start_naming_the_variable():
    env = project_env(**{**PRODUCTION, "SECRET_KEY": None})

    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def _celery_conf(**env: str | None) -> dict:
    script = (
        "import json, django; django.setup(); from project.celery import app; "
        "print(json.dumps({'options': app.conf.broker_transport_options, "
        "'time_limit': app.conf.task_time_limit, 'accept': app.conf.accept_content}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_redis_broker_visibility_timeout_exceeds_countdowns_and_time_limits():
    conf = _celery_conf(CELERY_BROKER_URL="redis://127.0.0.1:6379/1")

    assert conf["options"]["visibility_timeout"] > 3600
    assert conf["options"]["visibility_timeout"] > conf["time_limit"]


def test_rabbitmq_publishes_with_confirms():
    conf = _celery_conf(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//")

    assert conf["options"] == {"confirm_publish": True}


def test_only_json_is_accepted():
    assert app.conf.accept_content == ["json"]
    assert app.conf.result_accept_content == ["json"]
    assert app.conf.task_serializer == "json"


def test_eager_mode_is_configured_nowhere():
    forbidden = "ALWAYS" + "_EAGER"  # spelled in two parts so this file doesn't match itself
    assert app.conf["task_always" + "_eager"] is False
    tracked = subprocess.run(
        ["git", "grep", "-l", "-i", forbidden, "--", "*.py", "*.toml", "*.cfg", "*.yml", "*.env*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert tracked.stdout == ""
