"""Publish ``tests.count_run`` messages from a process of its own, on the embedded default.

Run as ``python -m tests.operations.embedded_publisher RUN FIRST COUNT [--go FILE]
[--pause SECONDS]``: it prints "ready" once Django is set up, waits for ``FILE`` to
exist (so that several publishers start at once), publishes messages FIRST to
FIRST + COUNT - 1 with ``delay()`` as a view does, and prints "published COUNT".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("first", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--go", type=Path)
    parser.add_argument("--pause", type=float, default=0.0)
    options = parser.parse_args()

    django.setup()
    from tests.tasks import count_run

    print("ready", flush=True)
    while options.go and not options.go.exists():
        time.sleep(0.005)
    for seq in range(options.first, options.first + options.count):
        count_run.delay(options.run, seq, options.pause)
    print(f"published {options.count}", flush=True)


if __name__ == "__main__":
    main()
