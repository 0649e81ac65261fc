"""Every management command of the project explains itself and each of its options."""

from __future__ import annotations

import argparse

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

PROJECT_APPS = ("accounts", "filestore", "operations", "outings", "posts", "voterroll")


def project_commands() -> list[tuple[str, str]]:
    return sorted((name, app) for name, app in get_commands().items() if app in PROJECT_APPS)


def test_the_project_has_commands_to_check():
    names = {name for name, _ in project_commands()}
    assert {"seed_voters", "generate_roll", "demo_superuser", "healthcheck"} <= names


@pytest.mark.parametrize(("name", "app"), project_commands())
def test_help_describes_the_command_and_every_option(name, app):
    command = load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    # Django's own options (--verbosity, --settings, …) have their help already.
    common = {action.dest for action in BaseCommand().create_parser("manage.py", "x")._actions}

    assert command.help.strip(), f"{name} has no help text"
    undescribed = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if action.dest not in common and action.help in (None, "", argparse.SUPPRESS)
    ]
    assert not undescribed, f"manage.py {name} --help lists {undescribed} with no description"
    # argparse formats the help: a stray % in a description would fail here.
    assert parser.format_help()
