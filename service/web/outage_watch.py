"""Ends a disk-full or read-only outage as soon as a write succeeds again.

Why: readiness reports a full or read-only database while requests meet it
(``service.db.faults``); reads keep working meanwhile, so a ``SELECT 1`` cannot tell
when space returned. A request that changes something (POST, PUT, PATCH, DELETE)
answered 2xx or 3xx wrote its audit entry, so the disk takes writes again: the
outage ends there, not ``QUIET_S`` later.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.db.faults import OUTAGES

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def ending_outages(app: ASGIApp) -> ASGIApp:
    """Wrap the application's ASGI handler."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _WRITES:
            await app(scope, receive, send)
            return

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 400:
                OUTAGES.writes_work()
            await send(message)

        await app(scope, receive, watching)

    return wrapped
