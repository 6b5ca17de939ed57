"""What a received SMS says and what it literally was (domain.inbound_text)."""

from __future__ import annotations

import pytest

from service.domain.inbound_text import clean_field, from_raw_b64, raw_b64, understood_text


@pytest.mark.parametrize(
    ("raw", "understood"),
    [
        ("Ninguno", "Ninguno"),
        ("Ninguno\x00", "Ninguno "),
        ("1\x004", "1 4"),  # a space, so two answers never become "14"
        ("hola\x07\x1b[0m", "hola  [0m"),
        ("línea 1\nlínea 2\ttab\r", "línea 1\nlínea 2\ttab\r"),  # kept: people type them
        ("\x7f\x85x", "  x"),  # DEL and C1 controls
        ("Hola \ud83d", "Hola \ufffd"),  # half an emoji
        ("ok 👍 sí", "ok 👍 sí"),
    ],
)
def test_understood_text(raw: str, understood: str) -> None:
    assert understood_text(raw) == understood


@pytest.mark.parametrize("raw", ["Ninguno\x00", "1\x004\x07", "Hola \ud83d", "\udc00x\x00"])
def test_raw_is_kept_reversibly_when_cleaned(raw: str) -> None:
    encoded = raw_b64(raw)
    assert encoded is not None and encoded.isascii()
    assert from_raw_b64(encoded) == raw


def test_nothing_extra_is_stored_for_ordinary_text() -> None:
    assert raw_b64("Sí, 1 y 4 🙂\n") is None


def test_header_fields_are_made_storable() -> None:
    assert clean_field("+15005550006\x00", 20) == "+15005550006"
    assert clean_field(" STOP\x00 ", 16) == "STOP"
    assert clean_field("\x00", 16) is None
    assert clean_field(None, 16) is None
    assert clean_field("x" * 30, 20) == "x" * 20
