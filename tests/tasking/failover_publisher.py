"""Publish ``tests.add`` tasks from a process of its own broker URL list, as a web process does.

Run as ``python -m tests.tasking.failover_publisher COUNT``; prints the task ids, one a line.
"""

from __future__ import annotations

import sys

import django


def main(messages: int) -> None:
    django.setup()
    from tests.tasks import add

    for n in range(messages):
        print(add.delay(n, n).id, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
