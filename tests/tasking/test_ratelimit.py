"""Cluster-wide rate limits: two worker processes together stay under 5 starts a second."""

from __future__ import annotations

import pytest
from django_celery_results.models import TaskResult

from tasking import ratelimit
from tests.processes import worker_process
from tests.tasking.tasks import TASK_MODULES, rate_limited, redis


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [("50/15m", 50, 900), ("5/s", 5, 1), ("5/1s", 5, 1), ("100/2h", 100, 7200), ("1/d", 1, 86400)],
)
def test_rates_are_parsed_from_count_slash_window(text, count, seconds):
    assert ratelimit.parse_rate(text) == ratelimit.Rate(count, seconds)


@pytest.mark.parametrize("text", ["", "50", "50/15x", "0/1m", "5/0s", "fifty/1m"])
def test_a_malformed_rate_says_what_the_format_is(text):
    with pytest.raises(ValueError, match=r"e\.g\. '50/15m'"):
        ratelimit.parse_rate(text)


def test_the_window_admits_r_starts_then_says_how_long_to_wait(run):
    rate = ratelimit.Rate(3, 60)

    waits = [ratelimit.try_start(run, rate) for _ in range(4)]

    assert waits[:3] == [0, 0, 0]
    assert 59 < waits[3] <= 60


def test_two_workers_never_start_more_than_five_in_any_second(subprocess_env, run):
    # A queue only the two worker processes consume.
    env = {**subprocess_env, "WORKER_QUEUES": "tests-ratelimit"}
    args = ("--include", TASK_MODULES, "--concurrency", "2")
    with worker_process(env, args=args), worker_process(env, args=args):
        app_results = [rate_limited.apply_async((run,), queue="tests-ratelimit") for _ in range(20)]
        retries = [result.get(timeout=60) for result in app_results]

    assert retries == [0] * 20, "rescheduling used up retries"
    failed = TaskResult.objects.filter(task_name="tests.rate_limited", status="FAILURE")
    assert not failed.exists(), [f.traceback for f in failed]
    assert len(set(redis().lrange(f"{run}:pid", 0, -1))) >= 2, "one process did all the work"
    starts = sorted(float(s) for s in redis().lrange(run, 0, -1))
    assert len(starts) == 20
    # The sixth start after any start comes a full second later. 0.1 s allows for the
    # gap between the Redis grant and the start being recorded on a busy machine; without
    # the limit, four processes start six of these no-op tasks within a few milliseconds.
    for first, sixth in zip(starts, starts[5:], strict=False):
        assert sixth - first >= 1 - 0.1, f"6 starts within {sixth - first:.3f} s"
