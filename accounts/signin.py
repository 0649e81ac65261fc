"""Who is signing in from where: the client address django-axes counts failures by."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """Return the address of the client, as the outermost trusted proxy saw it.

    Each proxy appends the address it received from to X-Forwarded-For, so with
    TRUSTED_PROXY_COUNT proxies in front the last that many entries are theirs and the
    first of those is the client's; anything left of it was written by the client and
    may be forged. With no proxy (0), REMOTE_ADDR is the client.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
