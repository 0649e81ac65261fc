"""Prometheus metrics: task counters collected in the workers, gauges asked at scrape time.

Workers and publishers write counters and histograms from Celery's signals into
prometheus_client's multiprocess files (one set per process, so prefork children and
gunicorn workers add up); the web process reads them all at ``GET /metrics`` and adds
gauges it asks for at scrape time: queue depths from the broker, workers from a
remote-control broadcast, and application figures from the database.

On several hosts no folder is shared: a worker started with ``WORKER_METRICS_PORT``
keeps its files (its own and its prefork children's) in a folder of its own and serves
them on that port, and Prometheus scrapes every worker as well as the web.

Names and labels follow celery-exporter where they overlap, so its Grafana dashboards
and alerts work unchanged.
"""

from __future__ import annotations

import glob
import hmac
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import Celery, signals
from django.apps import apps
from django.conf import settings
from django.db.models import Count
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from operations import inspection

logger = logging.getLogger(__name__)

# Files are named after the writing process. The host is part of the name because
# compose mounts one volume into every container, where pids repeat; "-" because
# prometheus_client splits file names on "_".
_HOST = socket.gethostname().replace("_", "-")


# prometheus_client asks for the identifier on every update, to notice a fork; keeping
# it in memory (refreshed in each forked child) spares a getpid() call per update.
_identifier = {"value": f"{_HOST}-{os.getpid()}"}


def _refresh_identifier() -> None:
    _identifier["value"] = f"{_HOST}-{os.getpid()}"


def process_identifier() -> str:
    """Name this process uniquely across every host sharing the metrics directory."""
    return _identifier["value"]


def _use_multiprocess_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # prometheus_client reads the directory from the environment when a metric's
    # first file is opened, in this process and in every prefork child.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)


_set_up = {"done": False}


def use_multiprocess_files() -> None:
    """Write this process's metrics to PROMETHEUS_MULTIPROC_DIR (once per process).

    Run from OperationsConfig.ready(), before any metric's first update: a labelled
    metric opens its file when a label set is first used, not when it is declared.
    """
    if _set_up["done"]:
        return
    _set_up["done"] = True
    os.register_at_fork(after_in_child=_refresh_identifier)
    _use_multiprocess_directory(Path(settings.PROMETHEUS_MULTIPROC_DIR))


TASK_LABELS = ("name", "hostname", "queue_name")
# Seconds: a no-op takes milliseconds, thumbnails seconds, a roll's PDFs minutes.
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Seconds: from "just picked up" to "waited out the longest countdown" (an hour).
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

# registry=None: the web process exposes these through the multiprocess collector only.
sent = Counter(
    "celery_task_sent", "Task messages published.", ("name", "queue_name"), registry=None
)
received = Counter("celery_task_received", "Tasks a worker received.", TASK_LABELS, registry=None)
started = Counter("celery_task_started", "Tasks a worker started.", TASK_LABELS, registry=None)
succeeded = Counter("celery_task_succeeded", "Tasks that returned.", TASK_LABELS, registry=None)
failed = Counter(
    "celery_task_failed",
    "Tasks that raised and will not be retried.",
    (*TASK_LABELS, "exception"),
    registry=None,
)
retried = Counter(
    "celery_task_retried", "Tasks that asked to be retried.", TASK_LABELS, registry=None
)
revoked = Counter("celery_task_revoked", "Tasks revoked or expired.", TASK_LABELS, registry=None)
rejected = Counter(
    "celery_task_rejected", "Messages a worker rejected.", ("name", "hostname"), registry=None
)
runtime = Histogram(
    "celery_task_runtime_seconds",
    "Seconds a task ran.",
    TASK_LABELS,
    buckets=RUNTIME_BUCKETS,
    registry=None,
)
queue_wait = Histogram(
    "celery_task_queue_wait_seconds",
    "Seconds from publishing a task to starting it (countdowns and ETAs included).",
    TASK_LABELS,
    buckets=WAIT_BUCKETS,
    registry=None,
)
tasks_active = Gauge(
    "celery_worker_tasks_active",
    "Tasks a worker is running now.",
    ("hostname",),
    multiprocess_mode="livesum",
    registry=None,
)

# The publisher stamps each message; the worker subtracts it from its own clock at start.
SENT_AT_HEADER = "backlot_sent_at"
_starts: dict[str, float] = {}
# The worker's node name ("name@host"), as celery-exporter labels it; a task's own
# request only knows the bare host name in some pools.
_node = {"name": ""}


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    # metric.labels() validates and locks on every call; a task's labels repeat.
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def _request_labels(name: str, request: Any) -> tuple[str, str, str]:
    delivery = getattr(request, "delivery_info", None) or {}
    hostname = _node["name"] or getattr(request, "hostname", None) or "-"
    return name or "-", hostname, delivery.get("routing_key") or "-"


def _labels(task: Any) -> tuple[str, str, str]:
    return _request_labels(task.name, task.request)


def _on_before_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()


def _on_after_publish(sender: str | None = None, routing_key: str = "", **kwargs: Any) -> None:
    _child(sent, sender or "-", routing_key or "-").inc()


def _on_received(request: Any = None, **kwargs: Any) -> None:
    _child(received, *_request_labels(request.name, request)).inc()


def _on_prerun(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    labels = _labels(task)
    _child(started, *labels).inc()
    _child(tasks_active, labels[1]).inc()
    sent_at = getattr(task.request, SENT_AT_HEADER, None)
    if isinstance(sent_at, int | float):
        # Clocks of two hosts may disagree by a little; never record a negative wait.
        _child(queue_wait, *labels).observe(max(0.0, time.time() - sent_at))
    _starts[task_id] = time.perf_counter()


def _on_postrun(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    labels = _labels(task)
    _child(tasks_active, labels[1]).dec()
    began = _starts.pop(task_id, None)
    if began is not None:
        _child(runtime, *labels).observe(time.perf_counter() - began)


def _on_success(sender: Any = None, **kwargs: Any) -> None:
    _child(succeeded, *_labels(sender)).inc()


def _on_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    _child(failed, *_labels(sender), type(exception).__name__).inc()


def _on_retry(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    _child(retried, *_request_labels(sender.name, request)).inc()


def _on_revoked(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    _child(revoked, *_request_labels(getattr(sender, "name", ""), request)).inc()


def _on_rejected(sender: Any = None, message: Any = None, **kwargs: Any) -> None:
    headers = getattr(message, "headers", None) or {}
    _child(rejected, headers.get("task") or "-", getattr(sender, "hostname", None) or "-").inc()


def _on_worker_init(sender: Any = None, **kwargs: Any) -> None:
    _node["name"] = getattr(sender, "hostname", "") or ""
    port = settings.WORKER_METRICS_PORT
    if port:
        # Before the pool forks: the children inherit the folder through the environment.
        _use_multiprocess_directory(Path(settings.PROMETHEUS_MULTIPROC_DIR) / f"worker-{port}")
    remove_files_of_dead_processes()
    if port:
        serve_worker_metrics(port=port, address=settings.WORKER_METRICS_ADDRESS)


def _on_process_init(sender: str | None = None, **kwargs: Any) -> None:
    _node["name"] = sender or _node["name"]


def _on_process_shutdown(**kwargs: Any) -> None:
    multiprocess.mark_process_dead(process_identifier())


_HANDLERS = (
    (signals.before_task_publish, _on_before_publish),
    (signals.after_task_publish, _on_after_publish),
    (signals.task_received, _on_received),
    (signals.task_prerun, _on_prerun),
    (signals.task_postrun, _on_postrun),
    (signals.task_success, _on_success),
    (signals.task_failure, _on_failure),
    (signals.task_retry, _on_retry),
    (signals.task_revoked, _on_revoked),
    (signals.task_rejected, _on_rejected),
    (signals.worker_init, _on_worker_init),
    (signals.worker_process_init, _on_process_init),
    (signals.worker_process_shutdown, _on_process_shutdown),
)


def connect() -> None:
    """Collect task metrics from Celery's signals in this process."""
    for signal, handler in _HANDLERS:
        signal.connect(handler, weak=False, dispatch_uid=f"operations.metrics.{handler.__name__}")


def disconnect() -> None:
    """Stop collecting task metrics in this process."""
    for signal, handler in _HANDLERS:
        signal.disconnect(handler, dispatch_uid=f"operations.metrics.{handler.__name__}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_files_of_dead_processes() -> list[str]:
    """Delete this host's metric files left by processes that no longer run.

    Run at worker start: the previous run's files would otherwise be summed forever
    (Prometheus reads the drop as a counter reset). Files of live processes, and of
    other hosts sharing the directory, are left alone.
    """
    removed = []
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for path in glob.glob(os.path.join(directory, f"*_{_HOST}-*.db")):
        pid = path.rsplit("-", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not _pid_alive(int(pid)):
            os.remove(path)
            removed.append(path)
    return removed


def bearer_token_matches(authorization: str) -> bool:
    """Return whether an Authorization header carries ``METRICS_TOKEN``."""
    scheme, _, token = authorization.partition(" ")
    expected = settings.METRICS_TOKEN
    # No token configured means no token is accepted, not that any token is.
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    )


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every 15 s would drown the worker's log."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_worker_metrics(*, port: int, address: str) -> WSGIServer:
    """Serve this worker's metrics (its children's included) to ``METRICS_TOKEN`` holders.

    A thread of the worker's main process answers; the live gauges (queues, workers,
    application rows) stay on the web's ``/metrics``, asked once per scrape.
    """
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    exposition_app = make_wsgi_app(registry)

    def guarded(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not bearer_token_matches(environ.get("HTTP_AUTHORIZATION", "")):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"A bearer token (METRICS_TOKEN) is required.\n"]
        answer: Iterable[bytes] = exposition_app(environ, start_response)
        return answer

    server = make_server(address, port, guarded, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("serving this worker's metrics on %s:%s", address, port)
    return server


class LiveCollector(Collector):
    """Gauges asked for at scrape time: queue depths, workers, application figures."""

    def __init__(self, app: Celery, *, worker_timeout: float) -> None:
        self.app = app
        self.worker_timeout = worker_timeout

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._queues()
        yield from self._workers()
        yield from self._state_counts()

    def _queues(self) -> Iterable[GaugeMetricFamily]:
        length = GaugeMetricFamily(
            "celery_queue_length", "Messages ready in the queue.", labels=["queue_name"]
        )
        consumers = GaugeMetricFamily(
            "celery_active_consumer_count",
            "Consumers the broker counts on the queue.",
            labels=["queue_name"],
        )
        for depth in inspection.queue_depths(self.app):
            if depth.messages is not None:
                length.add_metric([depth.name], depth.messages)
            if depth.consumers is not None:
                consumers.add_metric([depth.name], depth.consumers)
        return (length, consumers)

    def _workers(self) -> Iterable[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "celery_worker_up", "1 if the worker answered at scrape time.", labels=["hostname"]
        )
        consuming = GaugeMetricFamily(
            "celery_worker_queue",
            "1 for each queue a worker consumes.",
            labels=["hostname", "queue_name"],
        )
        per_queue = GaugeMetricFamily(
            "celery_active_worker_count", "Workers consuming the queue.", labels=["queue_name"]
        )
        workers = inspection.workers_and_queues(self.app, timeout=self.worker_timeout)
        counts = {name: 0 for name in inspection.declared_queues(self.app)}
        for hostname, queues in workers.items():
            up.add_metric([hostname], 1)
            for queue in queues:
                consuming.add_metric([hostname, queue], 1)
                counts[queue] = counts.get(queue, 0) + 1
        for queue, count in sorted(counts.items()):
            per_queue.add_metric([queue], count)
        return (up, consuming, per_queue)

    def _state_counts(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "backlot_objects", "Application rows by kind and state.", labels=["kind", "state"]
        )
        for kind, counts in state_counts().items():
            for state, number in counts.items():
                family.add_metric([kind, str(state)], number)
        return (family,)


def state_counts() -> dict[str, dict[Any, int]]:
    """Count the rows of each model in METRICS_STATE_COUNTS by its state field.

    Each entry is ``"app_label.Model"`` (counted by ``state``) or
    ``"app_label.Model:field"``. A model that is not installed is skipped, so operations
    names app models without importing any app (they may not exist in this release).
    """
    figures = {}
    for kind, spec in settings.METRICS_STATE_COUNTS.items():
        label, _, field = spec.partition(":")
        field = field or "state"
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        rows = model._default_manager.values_list(field).annotate(n=Count("pk")).order_by()
        figures[kind] = dict(rows)
    return figures


def exposition(app: Celery, *, worker_timeout: float) -> bytes:
    """Render every process's task metrics and the live gauges in the text format."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(LiveCollector(app, worker_timeout=worker_timeout))
    return generate_latest(registry)
