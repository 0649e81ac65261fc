"""A worker stopped as process managers stop it (SIGTERM to its group) stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil

from tests.processes import ROOT
from tests.support.waiting import wait_for_start


def test_sigterm_to_the_workers_process_group_is_a_warm_shutdown_without_errors(
    subprocess_env, tmp_path
):
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        # A session of its own, as honcho starts each Procfile line.
        proc = subprocess.Popen(
            [str(ROOT / "bin" / "worker"), "--concurrency", "2"],
            cwd=ROOT,
            env={**subprocess_env, "WORKER_NAME": "group-stop"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_start(
            proc, lambda: " ready." in log.read_text(), name="worker", timeout=60, log=log.read_text
        )
        pool = psutil.Process(proc.pid).children()
        assert len(pool) == 2
        # Each child leads a group of its own: the group's signal reaches the main only.
        assert all(os.getpgid(child.pid) == child.pid for child in pool)

        os.killpg(proc.pid, signal.SIGTERM)
        returncode = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text()

    assert "Warm shutdown" in output, output
    assert returncode == 0, output
    assert "exited with" not in output and "ERROR" not in output, output
    assert not [child for child in pool if child.is_running()]
