"""gunicorn settings, read from the environment (gunicorn loads this file from the cwd)."""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# Longer than /healthz's worker ping and a large upload on a slow link.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
accesslog = "-"
