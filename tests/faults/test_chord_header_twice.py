"""A roll's chord with one header message delivered twice is still finalized exactly once."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import amqp
import pytest
from django_celery_results.models import TaskResult

from tests.processes import worker_process
from tests.support.faults import wait_for_drain
from tests.support.waiting import wait_until
from voterroll import rolls, task_ids
from voterroll.models import RollRun, Station
from voterroll.seeding import seed_voters
from voterroll.tasks import start_run, sweep_runs

PDF_QUEUE = "pdf"


def duplicate_first_message(url: str, queue: str, expected: int) -> None:
    """Take every message off ``queue`` and put them back with the first one twice.

    Both copies of the first header message are at the head of the queue, so the
    duplicate runs while the rest of the header is still waiting, the way a redelivery
    after a lost ack does: counted twice, it would fire the callback one task early.
    """
    parts = urlsplit(url)
    connection = amqp.Connection(
        host=f"{parts.hostname}:{parts.port}", userid=parts.username, password=parts.password
    )
    connection.connect()
    try:
        channel = connection.channel()
        channel.confirm_select()
        taken = []
        while (message := channel.basic_get(queue)) is not None:
            taken.append(message)
        assert len(taken) == expected, f"{len(taken)} messages in {queue}, not {expected}"
        for message in [taken[0], *taken]:
            channel.basic_publish(
                amqp.Message(message.body, **message.properties), exchange="", routing_key=queue
            )
        channel.basic_ack(taken[-1].delivery_tag, multiple=True)
    finally:
        connection.close()


def finalizations(run_id: int) -> dict[str, int]:
    """How many finalize() calls completed the run, by its chord callback and by the sweeper."""
    callback = TaskResult.objects.filter(task_id=task_ids.finalize_task_id(run_id)).first()
    done = callback is not None and callback.status == "SUCCESS" and json.loads(callback.result)
    swept = sum(
        json.loads(stored.result)["finalized"].count(run_id)
        for stored in TaskResult.objects.filter(task_name=sweep_runs.name, status="SUCCESS")
    )
    return {"callback": int(bool(done)), "sweeper": swept}


@pytest.mark.faults
def test_a_header_message_run_twice_leaves_one_finalized_run(
    faults_env, own_rabbitmq, publish, settings, tmp_path, fault_row
):
    settings.ROLLS_ROOT = tmp_path / "rolls"
    seed_voters(voters=1200, centers=2, seed=7, locale="en", replace=False)
    run = rolls.create_run(strategy=RollRun.Strategy.PER_STATION)
    # The sweeper leaves a fully drawn run to its callback for 30 s: the callback, fired
    # once and only after the last station, is what finalizes it.
    env = {**faults_env, "ROLLS_ROOT": str(settings.ROLLS_ROOT), "ROLL_SWEEP_GRACE_SECONDS": "30"}

    with worker_process(env, args=("--include", "tests.faults.tasks")):
        # start_run assigns the stations and publishes the chord to the pdf queue, which
        # this worker does not consume: the header waits there.
        publish(start_run, run.id).get(timeout=120)
    stations = Station.objects.filter(run=run).count()
    assert stations > 2
    duplicate_first_message(own_rabbitmq.url, PDF_QUEUE, stations)

    started = time.monotonic()
    with worker_process({**env, "WORKER_QUEUES": f"{env['WORKER_QUEUES']},{PDF_QUEUE}"}):

        def done_or_swept() -> bool:
            run.refresh_from_db()
            if run.state == RollRun.State.DONE:
                return True
            # What beat's voterroll.sweep_runs entry does every minute.
            publish(sweep_runs).get(timeout=60)
            return False

        wait_until(
            done_or_swept,
            timeout=180,
            interval=1,
            what=lambda: f"the run to finish (still {run.state}: {run.error})",
        )
        wait_for_drain(own_rabbitmq.url, PDF_QUEUE)
    recovery = time.monotonic() - started

    run.refresh_from_db()
    folder = settings.ROLLS_ROOT / str(run.id)
    zips = list(folder.glob("*.zip"))
    leftovers = [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    by = finalizations(run.id)
    finalized = by["callback"] + by["sweeper"]
    row = fault_row(
        scenario="chord header twice",
        done=f"one of {stations} render_station messages delivered twice, ahead of the rest; "
        f"finalized by callback {by['callback']}, sweeper {by['sweeper']}",
        expected=1,
        seen={run.id: finalized} if finalized else {},
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert by == {"callback": 1, "sweeper": 0}
    assert run.state == RollRun.State.DONE
    assert run.stations_done == run.stations_count == stations
    assert [p.name for p in zips] == [f"roll-{run.id}.zip"]
    assert run.zip_file.endswith(f"roll-{run.id}.zip")
    assert leftovers == []
    assert len(list(folder.rglob("station-*.pdf"))) == stations
    assert len(list(folder.rglob("door-*.pdf"))) == stations
