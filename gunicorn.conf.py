"""gunicorn settings, read from the environment (gunicorn loads this file from the cwd)."""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# Longer than /healthz's worker ping and a large upload on a slow link.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
accesslog = "-"

# A wildcard address is not one a browser can open: this machine's own is (S104: nothing
# binds to these here, they are replaced).
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def when_ready(server):
    """Say which address to open, from the sockets gunicorn bound (WEB_BIND)."""
    for listener in server.LISTENERS:
        address = listener.getsockname()
        if not isinstance(address, tuple):
            continue  # a unix socket: a proxy in front says where to go
        host, port = _WILDCARDS.get(address[0], address[0]), address[1]
        shown = f"[{host}]" if ":" in host else host
        server.log.info("Open http://%s:%s/ in a browser", shown, port)
