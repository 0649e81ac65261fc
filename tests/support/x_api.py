"""A loopback server playing the X API (``POST /2/tweets``), for tests and fault scenarios."""

from __future__ import annotations

import itertools
import json
import threading

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "test-bearer-token"


class FakeX:
    """Answers ``POST /2/tweets`` from a script of statuses; the last one repeats."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.script: list[tuple[int, dict[str, str]]] = [(201, {})]
        self.lock = threading.Lock()
        self.ids = itertools.count(1_000_000)
        self.bodies: list[dict] = []
        server.expect_request("/2/tweets", method="POST").respond_with_handler(self._answer)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Set the statuses the next requests get, in order."""
        self.script = [s if isinstance(s, tuple) else (s, {}) for s in statuses]

    def _answer(self, request: Request) -> Response:
        with self.lock:
            self.bodies.append(json.loads(request.data))
            status, headers = self.script[0] if len(self.script) == 1 else self.script.pop(0)
            tweet_id = str(next(self.ids))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, headers = 401, {}
        if status == 201:
            body = {"data": {"id": tweet_id, "text": self.bodies[-1]["text"]}}
        elif status == 401:
            body = {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
        elif status == 429:
            body = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
        else:
            body = {
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "status": status,
            }
        return Response(
            json.dumps(body),
            status=status,
            headers=headers,
            content_type="application/problem+json",
        )

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]
