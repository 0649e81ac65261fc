"""Queue-time deduplication: ten calls while one message waits leave one message and one run."""

from __future__ import annotations

from project.celery import app
from tests.support.waiting import wait_until
from tests.tasking.tasks import DEDUP_QUEUE, deduplicated, redis


def queue_depth(name: str) -> int:
    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count


def test_ten_calls_while_one_waits_publish_one_message_and_run_once(worker, run):
    results = [deduplicated.apply_async((42, run), queue=DEDUP_QUEUE) for _ in range(10)]
    other = deduplicated.apply_async((7, run), queue=DEDUP_QUEUE)

    assert queue_depth(DEDUP_QUEUE) == 2
    assert {r.id for r in results} == {results[0].id}
    assert other.id != results[0].id

    app.control.add_consumer(DEDUP_QUEUE, destination=[worker.hostname], reply=True)
    try:
        results[0].get(timeout=20)
        other.get(timeout=20)
    finally:
        app.control.cancel_consumer(DEDUP_QUEUE, destination=[worker.hostname], reply=True)
    assert sorted(redis().lrange(run, 0, -1)) == [b"42", b"7"]


def test_a_call_made_after_the_run_started_queues_a_fresh_message(worker, run):
    first = deduplicated.apply_async((42, run), queue=DEDUP_QUEUE)
    app.control.add_consumer(DEDUP_QUEUE, destination=[worker.hostname], reply=True)
    try:
        first.get(timeout=20)
        wait_until(lambda: redis().llen(run) == 1, what="the first run")
        second = deduplicated.apply_async((42, run), queue=DEDUP_QUEUE)
        second.get(timeout=20)
    finally:
        app.control.cancel_consumer(DEDUP_QUEUE, destination=[worker.hostname], reply=True)

    assert second.id != first.id
    assert redis().llen(run) == 2
