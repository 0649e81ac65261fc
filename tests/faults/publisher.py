"""Publish ``faults.count`` messages through the outbox, as a web request does, in a process.

Run as ``python -m tests.faults.publisher RUN COUNT``: each message is one transaction
that writes its outbox row and publishes it on commit, the path of every view that
enqueues through ``tasking.outbox``. A publish that fails (the broker is down) is logged
by ``on_commit`` and leaves its row unsent for the relay; the process goes on.

With ``--direct`` each message is published by ``apply_async`` as ``delay_on_commit``
does; a publish no broker confirms is written to the outbox by the task class.
"""

from __future__ import annotations

import sys

import django


def main(run: str, messages: int, *, direct: bool = False) -> None:
    django.setup()
    from django.db import transaction

    from tasking import outbox
    from tests.faults.tasks import QUEUE, count

    for seq in range(messages):
        if direct:
            count.apply_async((run, seq), queue=QUEUE)
            continue
        with transaction.atomic():
            outbox.enqueue(count, run, seq, options={"queue": QUEUE})
    print(f"published {messages}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), direct="--direct" in sys.argv[3:])
