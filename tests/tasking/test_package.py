"""The package lists its public names and loads none of them until one is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tasking
from tests.processes import ROOT


def test_importing_the_package_loads_no_module_of_it():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, tasking; print(sorted(m for m in sys.modules if m.startswith('tasking')))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert loaded.strip() == "['tasking']"


def test_every_public_name_resolves():
    for name in tasking.__all__:
        assert getattr(tasking, name) is not None, name
    assert tasking.task is tasking.base.task
    assert tasking.SingleInstance is tasking.locks.SingleInstance


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        tasking.no_such_name  # noqa: B018 - the attribute access is the test
