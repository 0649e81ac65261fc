"""Settings: production checks, failure messages, and what must never be configured."""

import json
import secrets
import subprocess
import sys

import pytest

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


def _settings(*names: str, **env: str | None) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with ``env``; print the named ones as JSON."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: str(getattr(settings, n)) for n in {list(names)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
    )


def test_debug_is_off_unless_asked_for():
    done = _settings("DEBUG", "SERVE_MEDIA", DEBUG=None, SECRET_KEY=secrets.token_urlsafe(50))

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"DEBUG": "False", "SERVE_MEDIA": "False"}


def test_forgetting_both_debug_and_the_key_stops_the_process():
    done = _settings("SECRET_KEY", DEBUG=None, SECRET_KEY=None)

    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


@pytest.mark.embedded
def test_development_key_is_made_once_per_install_and_kept(tmp_path):
    """No key lives in the source: each install draws its own, and keeps it."""
    one, other = tmp_path / "one", tmp_path / "other"

    first = _settings("SECRET_KEY", DEBUG="1", SECRET_KEY=None, DATA_DIR=str(one))
    again = _settings("SECRET_KEY", DEBUG="1", SECRET_KEY=None, DATA_DIR=str(one))
    elsewhere = _settings("SECRET_KEY", DEBUG="1", SECRET_KEY=None, DATA_DIR=str(other))

    key = json.loads(first.stdout)["SECRET_KEY"]
    assert len(key) >= 50
    assert json.loads(again.stdout)["SECRET_KEY"] == key
    assert json.loads(elsewhere.stdout)["SECRET_KEY"] != key
    assert (one / "secret_key").read_text() == key
    assert (one / "secret_key").stat().st_mode & 0o077 == 0, "readable by other users"


@pytest.mark.embedded
def test_processes_starting_together_agree_on_the_development_key(tmp_path):
    env = project_env(DEBUG="1", SECRET_KEY=None, DATA_DIR=str(tmp_path))
    script = "from django.conf import settings; print(settings.SECRET_KEY)"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]

    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}

    assert keys == {(tmp_path / "secret_key").read_text()}
    assert [p.name for p in tmp_path.iterdir()].count("secret_key") == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".secret_key")]


def _make_run_debug(**env: str | None) -> str:
    done = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "print-run-debug"],
        input="print-run-debug:\n\t@echo $(RUN_DEBUG)\n",
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_make_run_turns_debug_on_only_for_the_embedded_default():
    embedded = {"DEBUG": None, "DATABASE_URL": None, "CELERY_BROKER_URL": None}

    assert _make_run_debug(**embedded) == "1"
    assert _make_run_debug(**{**embedded, "DATABASE_URL": "postgres://db/x"}) == "0"
    assert _make_run_debug(**{**embedded, "CELERY_BROKER_URL": "amqp://mq//"}) == "0"
    assert _make_run_debug(**{**embedded, "DATABASE_URL": "postgres://db/x", "DEBUG": "1"}) == "1"


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


@pytest.mark.django_db
def test_metrics_count_every_app_by_state(client, settings):
    """METRICS_STATE_COUNTS names real models: each app's figures reach /metrics."""
    from django.contrib.auth import get_user_model

    from outings.models import Tweet
    from posts.models import UserPost
    from voterroll.models import RollRun

    settings.METRICS_TOKEN = "scrape-token"
    author = get_user_model().objects.create_user("author")
    UserPost.objects.bulk_create(
        [UserPost(author=author, caption="x", image="a.jpg", state="failed")] * 2
    )
    Tweet.objects.create(idempotency_key="k", kind="announcement", text="t", state="sent")
    RollRun.objects.create(state="rendering")

    body = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).content
    text = body.decode()

    assert 'backlot_objects{kind="posts",state="failed"} 2.0' in text
    assert 'backlot_objects{kind="tweets",state="sent"} 1.0' in text
    assert 'backlot_objects{kind="roll_runs",state="rendering"} 1.0' in text


# --- the embedded default -------------------------------------------------------------


def test_the_embedded_broker_is_redis_on_a_socket_with_the_long_visibility_timeout(tmp_path):
    conf = _celery_conf(DATA_DIR=str(tmp_path), CELERY_BROKER_URL=None, REDIS_URL=None)

    assert conf["options"]["visibility_timeout"] > 3600
    assert conf["options"]["visibility_timeout"] > conf["time_limit"]


def test_a_data_dir_too_deep_for_the_embedded_socket_fails_at_start_saying_what_to_do(tmp_path):
    deep = tmp_path / ("d" * 100)
    env = project_env(DATA_DIR=str(deep), REDIS_URL=None)

    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert done.returncode != 0
    assert "DATA_DIR is too deep for the embedded Redis socket" in done.stderr
    assert "set DATA_DIR to a shorter path" in done.stderr
