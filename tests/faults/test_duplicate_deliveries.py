"""Deliver every side-effect message twice: each effect still happens once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from outings.models import Tweet
from outings.tasks import announce_outing
from posts.models import Thumbnail, UserPost
from posts.tasks import generate_thumbnails
from tests.factories import make_user, phone_jpeg
from tests.faults.tasks import QUEUE
from tests.processes import worker_process
from tests.support.faults import publish_twice, quiet_outings, wait_for_drain
from tests.support.waiting import wait_until
from voterroll import drawing, rolls
from voterroll.models import RollRun, Station
from voterroll.seeding import seed_voters
from voterroll.tasks import render_batch, render_station


@pytest.mark.faults
def test_an_announcement_delivered_twice_is_tweeted_once(
    faults_env, own_rabbitmq, publish, x_api, x_api_env, user, fault_row
):
    outings = 5
    created, _ = quiet_outings(user, [timezone.now() + timedelta(hours=2)] * outings)
    env = {
        **faults_env,
        **x_api_env,
        # post_tweet, queued by announce_outing, goes to the notifications queue.
        "WORKER_QUEUES": f"{QUEUE},notifications",
    }

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        for outing in created:
            publish_twice(publish, announce_outing, outing.pk)
        wait_until(
            lambda: Tweet.objects.filter(state=Tweet.State.SENT).count() == outings,
            timeout=120,
            what="every announcement to be sent",
        )
        wait_for_drain(own_rabbitmq.url, QUEUE, "notifications")
    # The worker's warm shutdown has finished whatever was still running.
    recovery = time.monotonic() - started

    texts = x_api.texts()
    tweets = dict(Tweet.objects.values_list("outing_id", "text"))
    seen = {n: texts.count(tweets[o.pk]) for n, o in enumerate(created) if tweets[o.pk] in texts}
    row = fault_row(
        scenario="duplicate delivery: announcement",
        done=f"each of {outings} announce_outing messages published twice",
        expected=outings,
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert x_api.requests == outings


@pytest.mark.faults
def test_thumbnails_delivered_twice_make_one_file_and_one_row_per_size(
    faults_env, own_rabbitmq, publish, settings, tmp_path, fault_row
):
    posts = 4
    sizes = len(settings.THUMBNAIL_SIZES)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.POST_UPLOADS_ROOT = tmp_path / "uploads"
    author = make_user("faults")
    made = []
    for n in range(posts):
        post = UserPost(author=author, caption=f"post {n}")
        post.image.save(f"photo{n}.jpg", ContentFile(phone_jpeg((800, 600))), save=False)
        made.append(post)
    # bulk_create: no post_save, so nothing is published to the machine's broker.
    made = UserPost.objects.bulk_create(made)
    env = {
        **faults_env,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "POST_UPLOADS_ROOT": str(settings.POST_UPLOADS_ROOT),
    }

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        for post in made:
            publish_twice(publish, generate_thumbnails, post.pk)
        wait_until(
            lambda: UserPost.objects.filter(state=UserPost.State.READY).count() == posts,
            timeout=120,
            what="every post to be ready",
        )
        wait_for_drain(own_rabbitmq.url, QUEUE)
    recovery = time.monotonic() - started

    files = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    seen = {}
    for n, post in enumerate(made):
        rows = Thumbnail.objects.filter(post=post).count()
        on_disk = sum(1 for p in files if str(post.pk) in p.relative_to(settings.MEDIA_ROOT).parts)
        # One effect per ready post; every row or file past one per size counts as a duplicate.
        if rows:
            seen[n] = 1 + (rows - sizes) + max(on_disk - sizes, 0)
    row = fault_row(
        scenario="duplicate delivery: thumbnails",
        done=f"each of {posts} generate_thumbnails messages published twice",
        expected=posts,
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert len(files) == posts * sizes


def _wait_for_every_station(run: RollRun) -> None:
    wait_until(
        lambda: not Station.objects.filter(run=run, rendered_at__isnull=True).exists(),
        timeout=120,
        what="every station to be drawn",
    )


@pytest.mark.faults
def test_a_station_pdf_delivered_twice_is_written_and_counted_once(
    faults_env, own_rabbitmq, publish, settings, tmp_path, fault_row
):
    settings.ROLLS_ROOT = tmp_path / "rolls"
    seed_voters(voters=1200, centers=2, seed=7, locale="en", replace=False)
    run = rolls.assign(rolls.create_run(strategy=RollRun.Strategy.PER_STATION).id)
    assert run is not None
    stations = list(Station.objects.filter(run=run).select_related("center"))
    env = {**faults_env, "ROLLS_ROOT": str(settings.ROLLS_ROOT)}

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        for station in stations:
            publish_twice(publish, render_station, run.id, station.id)
        _wait_for_every_station(run)
        wait_for_drain(own_rabbitmq.url, QUEUE)
    recovery = time.monotonic() - started

    files = [p for p in (settings.ROLLS_ROOT / str(run.id)).rglob("*") if p.is_file()]
    run.refresh_from_db()
    seen = {}
    for station in stations:
        # A book and a door sign per station, in its center's folder; more is a duplicate.
        mine = [
            p
            for p in files
            if p.parent.name == station.center.code and f"-{station.number:03d}." in p.name
        ]
        if len(mine) >= 2:
            seen[station.id] = len(mine) - 1
    row = fault_row(
        scenario="duplicate delivery: station PDFs",
        done=f"each of {len(stations)} render_station messages published twice",
        expected=len(stations),
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert run.stations_done == len(stations)
    # A book and a door sign per station, and each center's station list.
    assert len(files) == 2 * len(stations) + len({station.center_id for station in stations})


@pytest.mark.faults
def test_a_batch_of_stations_delivered_twice_is_written_and_counted_once(
    faults_env, own_rabbitmq, publish, settings, tmp_path, fault_row
):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Stations of at most 100 voters, three or so to a batch of 300.
    settings.ROLL_STATION_MAX = 100
    seed_voters(voters=1200, centers=2, seed=7, locale="en", replace=False)
    run = rolls.assign(rolls.create_run(strategy=RollRun.Strategy.BATCHED).id)
    assert run is not None
    batches = drawing.plan_batches(run.id, task_voters=300)
    assert len(batches) > 2 and any(len(batch) > 1 for batch in batches)
    stations = list(Station.objects.filter(run=run))
    env = {**faults_env, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}

    started = time.monotonic()
    with worker_process(env, args=("--include", "tests.faults.tasks")):
        for batch in batches:
            publish_twice(publish, render_batch, run.id, batch)
        _wait_for_every_station(run)
        wait_for_drain(own_rabbitmq.url, QUEUE)
    recovery = time.monotonic() - started

    files = [p for p in (settings.ROLLS_ROOT / str(run.id)).rglob("*") if p.is_file()]
    run.refresh_from_db()
    # The effect counted is the run's progress: each station must add one, once.
    drawn = [s.id for s in Station.objects.filter(run=run, rendered_at__isnull=False)]
    seen = dict.fromkeys(drawn, 1)
    if drawn:
        seen[drawn[0]] += run.stations_done - len(drawn)
    row = fault_row(
        scenario="duplicate delivery: station batches",
        done=f"each of {len(batches)} render_batch messages ({len(stations)} stations) "
        "published twice",
        expected=len(stations),
        seen=seen,
        recovery_s=recovery,
    )
    assert row["lost"] == 0
    assert row["duplicated"] == 0
    assert run.stations_done == run.stations_count == len(stations)
    assert len(files) == 2 * len(stations) + len({station.center_id for station in stations})
