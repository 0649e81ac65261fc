"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.processes import free_port


class Inbox:
    """An aiosmtpd handler that stores each message as it is delivered."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        # Addresses the server answers "550 no such user" to, as a real one would.
        self.unknown: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings) -> Inbox:
    """Point EMAIL_BACKEND at a local SMTP server and return its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    yield inbox
    controller.stop()
