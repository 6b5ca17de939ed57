"""A request id on every response and on every log line written while serving it.

When something goes wrong, the operator has a log and the caller has a response; the
request id joins the two without either carrying personal data. It is generated here
(a caller-supplied ``X-Request-ID`` is kept only if it is short and plain, so a client
cannot smuggle text into our logs) and kept in a context variable that the logging
filter reads (``service.logs``).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            text = value.decode("latin-1")
            return text if _ACCEPTABLE.match(text) else None
    return None


def with_request_id(app: ASGIApp) -> ASGIApp:
    """Wrap the application's outermost ASGI handler (404s and 500s included)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != HEADER.encode()]
                headers.append((HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)

    return wrapped
