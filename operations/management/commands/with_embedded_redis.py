"""Run a command (``honcho start`` for ``make run``) with the embedded Redis up around it."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.embedded import EmbeddedRedis, EmbeddedRedisError

# SIGHUP (the terminal closed) stops the command as SIGTERM does: honcho has no handler
# for it and would die at once, leaving web, worker and beat behind.
FORWARDED = {
    signal.SIGINT: signal.SIGINT,
    signal.SIGTERM: signal.SIGTERM,
    signal.SIGHUP: signal.SIGTERM,
}


class Command(BaseCommand):
    help = (
        "Start the embedded Redis when REDIS_URL or CELERY_BROKER_URL is unset, run the "
        "command, and stop the server once the command has exited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "command", nargs=argparse.REMAINDER, help="the command to run, e.g. honcho start"
        )

    def handle(self, *args: Any, command: list[str], **options: Any) -> None:
        if not command:
            raise CommandError("Name the command to run, e.g. `with_embedded_redis honcho start`.")
        server = None
        if settings.EMBEDDED_REDIS_SOCKET is not None:
            server = EmbeddedRedis(settings.EMBEDDED_REDIS_SOCKET)
            try:
                started = server.start()
            except EmbeddedRedisError as exc:
                raise CommandError(str(exc)) from None
            if started:
                self.say(
                    f"embedded Redis {server.version()} started on {server.socket} "
                    f"(its log: {server.log})"
                )
            else:
                # Another process's server (or one left by a killed run): it stays up.
                self.say(f"embedded Redis already running on {server.socket}: using it")
                server = None
        try:
            returncode = self.run_in_foreground(command)
        finally:
            if server is not None:
                server.stop()
                self.say("embedded Redis stopped")
        if returncode:
            sys.exit(returncode)

    def run_in_foreground(self, command: list[str]) -> int:
        """Run ``command`` to its end, passing on the signals that stop it."""
        try:
            # Its own process group: a Ctrl-C reaches it once, from here, and this
            # process lives on to stop the server after it.
            child = subprocess.Popen(command, process_group=0)  # noqa: S603 - the caller's command
        except OSError as exc:
            raise CommandError(f"could not run {command[0]}: {exc}") from None

        def forward(signum: int, frame: object) -> None:
            child.send_signal(FORWARDED[signal.Signals(signum)])

        previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
        try:
            return child.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def say(self, line: str) -> None:
        # Flushed: the command's own output goes straight to the same terminal.
        self.stdout.write(line)
        self.stdout.flush()
