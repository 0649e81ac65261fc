"""Two beat processes for 15 minutes of simulated time: one reminder tweet per participant.

Simulated time, and why it is honest: nothing fakes the clock. Every process reads the
real time; what is compressed is the schedule. Fifteen minutes become 30 real seconds
(one real second stands for 30 simulated ones), and outings start across those 30
seconds, each at ``OUTING_REMINDER_WINDOW`` plus its offset from now, so participants
fall due one after another as the real clock moves, as they would across 15 minutes.
Both beats run the reminder job every second (``OUTING_REMINDER_EVERY_SECONDS=1``): 60
runs over the window where the production schedule gives 3 per beat, so the two beats
race for the same participants far more often than they would in production. The test
is bounded by the 30 seconds plus the time to drain the tweets.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from outings.models import Tweet
from tests.processes import beat_process, worker_process
from tests.support.faults import quiet_outings, reminders_seen, wait_for_drain
from tests.support.waiting import wait_until

# 15 simulated minutes in 30 real seconds.
SIMULATED = timedelta(minutes=15)
REAL_SECONDS = 30
OUTINGS = 15
PER_OUTING = 4


@pytest.mark.faults
def test_two_beats_over_fifteen_simulated_minutes_remind_each_participant_once(
    faults_env, own_rabbitmq, x_api, x_api_env, user, settings, fault_row
):
    env = {
        **faults_env,
        "WORKER_QUEUES": "notifications",
        "OUTING_REMINDER_EVERY_SECONDS": "1",
        # 60 reminders: no cluster rate limit to spread them over 15 real minutes.
        "TWEET_RATE_LIMIT": "",
        **x_api_env,
    }
    job = PeriodicTask.objects.filter(name="outings.send_due_reminders", interval__every=1)

    with worker_process(env), beat_process(env):
        # The first beat syncs the schedule into the database; the second then finds it.
        wait_until(job.exists, timeout=30, what="the first beat's schedule")
        with beat_process(env):
            start = timezone.now() + settings.OUTING_REMINDER_WINDOW + timedelta(seconds=1)
            starts = (start + n * timedelta(seconds=REAL_SECONDS / OUTINGS) for n in range(OUTINGS))
            _, participants = quiet_outings(user, starts, participants=PER_OUTING)
            began = time.monotonic()
            time.sleep(REAL_SECONDS + 2)
        wait_until(
            lambda: Tweet.objects.filter(state=Tweet.State.SENT).count() == len(participants),
            timeout=120,
            what="every reminder to be sent",
        )
        wait_for_drain(own_rabbitmq.url, "notifications")
        recovery = time.monotonic() - began - REAL_SECONDS

    runs = TaskResult.objects.filter(task_name="outings.send_due_reminders").count()
    texts = x_api.texts()
    seen = reminders_seen(texts, participants)
    row = fault_row(
        scenario="two beats",
        done=f"two beats ran the reminder job {runs} times: {SIMULATED.seconds // 60} "
        f"simulated minutes in {REAL_SECONDS} s",
        expected=len(participants),
        seen=seen,
        recovery_s=max(recovery, 0),
    )
    # One beat alone sends the job about once a second; more means both were sending.
    assert runs > REAL_SECONDS + 5
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert x_api.requests == len(participants)
    assert Tweet.objects.filter(kind=Tweet.Kind.REMINDER).count() == len(participants)
