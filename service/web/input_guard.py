"""Refuse hostile input at the edge, before it reaches an action or the database.

Each of these once gave a 500 somewhere below: PostgreSQL refuses NUL in text, int4
ids overflow past 2^31 (SQLite's past 2^63), a deeply nested JSON document exhausts
the recursion limit, invalid UTF-8 breaks the decoder, and an over-long path segment
or query value ends in a driver error. The guard runs after routing (it is Litestar
middleware), so it knows the names of the path parameters and can name the field in
a 400 like any other validation error. It never touches form bodies: Twilio's
webhooks must store whatever a participant sent, NUL bytes included.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.exceptions import ClientException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

MAX_INT_ID = 2**31 - 1  # every id column is int4 on PostgreSQL
MAX_PATH_VALUE = 128
MAX_QUERY_VALUE = 256
MAX_JSON_DEPTH = 32
MAX_JSON_BODY = 1024 * 1024


def _refuse(key: str, message: str, source: str) -> ValidationException:
    return ValidationException(
        detail=f"{key}: {message}",
        extra=[{"key": key, "message": message, "source": source}],
    )


def _check_text(key: str, value: str, limit: int, source: str) -> None:
    if "\x00" in value:
        raise _refuse(key, "must not contain a NUL character", source)
    if len(value) > limit:
        raise _refuse(key, f"is longer than {limit} characters", source)


def check_path_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not 0 <= value <= MAX_INT_ID:
                raise _refuse(key, f"must be between 0 and {MAX_INT_ID}", "path")
        elif isinstance(value, str):
            _check_text(key, value, MAX_PATH_VALUE, "path")


def check_query(raw: bytes) -> None:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _refuse("query", "is not valid UTF-8", "query") from None
    for key, value in pairs:
        _check_text("query", key, 64, "query")
        _check_text(key, value, MAX_QUERY_VALUE, "query")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Bracket depth outside strings, in one linear pass without recursion."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _nul_field(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return path or "body"
            found = _nul_field(item, f"{path}.{key}" if path else key)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{path}[{index}]" if path else f"[{index}]")
            if found:
                return found
    return None


def check_json_body(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("body", "is not valid UTF-8", "body") from None
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        raise _refuse("body", f"is nested deeper than {MAX_JSON_DEPTH} levels", "body")
    if b"\x00" in body or b"\\u0000" in body:
        try:
            document = json.loads(body)
        except ValueError:
            return  # not JSON at all: the decoder below says so in its own words
        field = _nul_field(document, "") or "body"
        raise _refuse(field, "must not contain a NUL character", "body")


def _is_form(scope: Scope) -> bool:
    """Form posts (Twilio's webhooks) pass untouched; every other body is read as the
    JSON the routes expect, whatever Content-Type the client claimed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media in {"application/x-www-form-urlencoded", "multipart/form-data"}
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise ClientException(detail="request body is too large", status_code=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class InputGuard(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        check_path_params(dict(scope.get("path_params") or {}))
        check_query(scope.get("query_string", b""))
        if scope.get("method") in {"POST", "PUT", "PATCH"} and not _is_form(scope):
            body = await _read_body(receive)
            check_json_body(body)
            replayed = False

            async def replay() -> ReceiveMessage:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await next_app(scope, replay, send)
            return
        await next_app(scope, receive, send)
