"""Single-instance locks: no overlap across workers, token-guarded release, TTL after SIGKILL."""

from __future__ import annotations

import itertools
import os
import signal
import time

import pytest
from django.conf import settings

from tasking import locks
from tests.processes import worker_process
from tests.support.waiting import wait_until
from tests.tasking.tasks import TASK_MODULES, hold_lock, hold_lock_or_skip, redis, starts_and_ends


@pytest.fixture
def lock_backend(redis_server: None) -> locks.RedisLocks:
    return locks.RedisLocks(settings.REDIS_URL)


def test_only_one_holder_at_a_time(lock_backend):
    first = locks.Lock("lock:test:one", ttl=5, backend_=lock_backend)
    second = locks.Lock("lock:test:one", ttl=5, backend_=lock_backend)

    assert first.acquire()
    assert not second.acquire()
    assert first.release()
    assert second.acquire()
    second.release()


def test_a_non_holder_cannot_release_or_renew_the_lock(lock_backend):
    holder = locks.Lock("lock:test:guarded", ttl=5, backend_=lock_backend)
    intruder = locks.Lock("lock:test:guarded", ttl=5, backend_=lock_backend)
    assert holder.acquire()

    assert not intruder.release()
    assert not intruder.renew()
    assert lock_backend.holder("lock:test:guarded") == holder.token
    assert not intruder.acquire()
    holder.release()


def test_an_expired_lock_can_be_taken_and_its_old_holder_cannot_free_it(lock_backend):
    stale = locks.Lock("lock:test:expiry", ttl=0.2, backend_=lock_backend)
    assert stale.acquire()
    time.sleep(0.3)

    fresh = locks.Lock("lock:test:expiry", ttl=5, backend_=lock_backend)
    assert fresh.acquire()
    assert not stale.release()
    assert lock_backend.holder("lock:test:expiry") == fresh.token
    fresh.release()


def test_the_heartbeat_keeps_a_lock_alive_past_its_ttl(lock_backend):
    with locks.Lock("lock:test:heartbeat", ttl=0.6, backend_=lock_backend) as held:
        time.sleep(1.5)
        assert lock_backend.holder("lock:test:heartbeat") == held.token
    assert lock_backend.holder("lock:test:heartbeat") is None


def test_eight_concurrent_runs_on_two_workers_never_overlap(worker, subprocess_env, run):
    with worker_process(subprocess_env, args=("--include", TASK_MODULES, "--concurrency", "4")):
        results = [hold_lock.delay("printer", 0.3, run) for _ in range(8)]
        for result in results:
            result.get(timeout=60)

    runs = starts_and_ends(run)
    assert len(runs) == 8
    for (_, end), (next_start, _) in itertools.pairwise(runs):
        assert next_start >= end, f"a run started at {next_start} before another ended at {end}"
    pids = {int(pid) for pid in redis().lrange(f"{run}:pid", 0, -1)}
    assert len(pids) > 1, "every run happened in one process; the test proved nothing"


def test_a_busy_run_is_skipped_when_the_task_says_skip(worker, run):
    first = hold_lock_or_skip.delay("scanner", 1.5, run)
    wait_until(lambda: redis().llen(run) == 1, what="the first run to start")
    second = hold_lock_or_skip.delay("scanner", 0, run)

    second.get(timeout=20)
    first.get(timeout=20)
    assert redis().llen(run) == 1


@pytest.mark.faults
def test_the_lock_of_a_sigkilled_worker_frees_within_its_ttl(worker, subprocess_env, run):
    key = locks.lock_key("tests.hold_lock", "plotter")
    env = {**subprocess_env, "WORKER_QUEUES": "tests-sigkill"}
    with worker_process(env, args=("--include", TASK_MODULES, "--pool", "solo")):
        hold_lock.apply_async(("plotter", 600, run), queue="tests-sigkill")
        wait_until(lambda: redis().llen(f"{run}:pid") == 1, what="the long run to start")
        time.sleep(1.5)  # past one heartbeat (a third of the 3 s TTL)
        pid = int(redis().lindex(f"{run}:pid", 0))
        os.kill(pid, signal.SIGKILL)

        # Still held, but only for what is left of one TTL: nothing renews it any more.
        ttl_left = redis().pttl(key)
        assert 0 < ttl_left <= 3000
        after = hold_lock.delay("plotter", 0, f"{run}:after")
        after.get(timeout=30)

    assert len(starts_and_ends(f"{run}:after")) == 1
    assert redis().llen(run) == 0, "the killed run never finished"
