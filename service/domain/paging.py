"""Keyset paging: page sizes and the opaque cursor that names where a page ended.

A cursor is the sort key of the last row a page showed, not an offset: rows
inserted while a client walks the pages never shift what the next page holds
(an offset would repeat or skip rows), and each page costs an index range scan
however deep it is. It is opaque to clients (base64url of a small JSON array)
and tagged with the list it belongs to, so a cursor of one list handed to
another is refused rather than misread. It carries no secret and grants nothing:
the caller's site scope is applied to every page anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Final

__all__ = [
    "CURSOR_MAX_CHARS",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "BadCursor",
    "decode_cursor",
    "decode_sort_key",
    "encode_cursor",
    "instant",
]

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 500
CURSOR_MAX_CHARS: Final = 200

Key = tuple[str | int | float, ...]


class BadCursor(ValueError):
    """The cursor was not made by this list (edited, truncated, from another list)."""


def encode_cursor(kind: str, key: Key) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _payload(kind: str, cursor: str) -> list[Any]:
    if not cursor or len(cursor) > CURSOR_MAX_CHARS:
        raise BadCursor("cursor is empty or too long")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise BadCursor("cursor is not one this service gave out") from None
    if not isinstance(value, list) or len(value) < 2 or value[0] != kind:
        raise BadCursor("cursor belongs to another list")
    return value[1:]


def decode_sort_key(kind: str, cursor: str) -> Key:
    """The sort key inside ``cursor`` for a list sorted in memory (the dashboard's
    participant list): any length, each element a text or a number."""
    key = tuple(_payload(kind, cursor))
    for item in key:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise BadCursor("cursor is not one this service gave out")
    return key


def decode_cursor(kind: str, cursor: str, shape: tuple[type, ...]) -> Key:
    """The sort key inside ``cursor``; ``shape`` gives each element's type (str/int)."""
    value = _payload(kind, cursor)
    if len(value) != len(shape):
        raise BadCursor("cursor belongs to another list")
    key = tuple(value)
    for item, wanted in zip(key, shape, strict=True):
        # bool is an int to isinstance; a cursor never holds one.
        if not isinstance(item, wanted) or isinstance(item, bool):
            raise BadCursor("cursor is not one this service gave out")
    return key


def instant(text: str | int | float) -> datetime:
    """A cursor's timestamp element back as an aware datetime."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise BadCursor("cursor is not one this service gave out") from None
    if moment.tzinfo is None:
        raise BadCursor("cursor is not one this service gave out")
    return moment
