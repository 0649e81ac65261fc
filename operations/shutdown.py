"""Let a worker's main process alone decide how its pool stops.

Process managers stop a program by signalling its whole process group: honcho
(``make run``) sends SIGTERM to the group, and a Ctrl-C in a terminal sends SIGINT to
the foreground group. Prefork children are in their parent's group, so SIGTERM reached
them too: an idle child died of it before the main process began its warm shutdown,
which then logged ``ERROR … ForkPoolWorker-N exited with 'signal 15 (SIGTERM)'``, and
now and then stalled past honcho's grace period until it sent SIGKILL.

Each child therefore leaves the group at start: only the main process hears the
manager's signal, and it stops its children itself (after their current task on a warm
shutdown). A child still dies with its parent (Celery sets ``PR_SET_PDEATHSIG`` to
SIGKILL), and a hard time limit kills a group leader's whole group, so nothing is left
behind. Docker and Kubernetes signal the main process only, where nothing changes.
"""

from __future__ import annotations

import contextlib
import os

from celery import signals


def _leave_process_group(**kwargs: object) -> None:
    # EPERM: already a session leader (never for a forked pool child, but harmless).
    with contextlib.suppress(PermissionError):
        os.setpgid(0, 0)


def connect() -> None:
    """Put every prefork child of this worker in a process group of its own."""
    signals.worker_process_init.connect(
        _leave_process_group, weak=False, dispatch_uid="operations.shutdown.leave_process_group"
    )
