"""What a received SMS says, and what it literally was.

A participant's text reaches us through Twilio's form post and may carry bytes that
no database column takes as text: a NUL (PostgreSQL refuses it in ``text`` and in
``jsonb``), other control characters a phone or a gateway inserted, or a lone UTF-16
surrogate (neither SQLite nor PostgreSQL can encode it). Refusing such a message
would lose the participant's reply, so both forms are kept:

* :func:`understood_text` is what the service reads, stores in ``body`` and shows:
  each control character except tab, line feed and carriage return becomes a space
  (a space, not nothing, so "1\\x004" stays two answers and never becomes "14"), and
  each lone surrogate becomes U+FFFD, the Unicode replacement character.
* :func:`raw_b64` is the exact received string, reversibly (base64 of its UTF-8 with
  surrogates passed through), or None when it equals the understood text, which is
  the normal case. :func:`from_raw_b64` gives the original back.
"""

from __future__ import annotations

import base64
import re

__all__ = ["clean_field", "from_raw_b64", "raw_b64", "understood_text"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def understood_text(raw: str) -> str:
    """The text the service reads: controls as spaces, lone surrogates as U+FFFD."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", raw))


def raw_b64(raw: str) -> str | None:
    """The exact received string as base64, or None when nothing had to be cleaned."""
    if understood_text(raw) == raw:
        return None
    return base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode("ascii")


def from_raw_b64(value: str) -> str:
    """The inverse of :func:`raw_b64`."""
    return base64.b64decode(value.encode("ascii")).decode("utf-8", "surrogatepass")


def clean_field(value: str | None, max_length: int) -> str | None:
    """A header-like field (From, To, OptOutType, MessageSid) made storable: no
    controls, no surrogates, no surrounding spaces, at most ``max_length`` characters,
    None when nothing is left."""
    if value is None:
        return None
    cleaned = _SURROGATE.sub("", _CONTROL.sub("", value)).strip()[:max_length]
    return cleaned or None
