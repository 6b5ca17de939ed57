"""The keyset cursor: round trip, and refusal of anything it did not make."""

from __future__ import annotations

import base64

import pytest

from service.domain.paging import BadCursor, decode_cursor, encode_cursor, instant


def test_round_trip_is_url_safe() -> None:
    cursor = encode_cursor("alerts", ("2027-01-10T12:00:00+00:00", 42))
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor("alerts", cursor, (str, int)) == ("2027-01-10T12:00:00+00:00", 42)


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        _raw("not json"),
        _raw('{"a": 1}'),
        _raw('["participants", "M1"]'),  # another list's
        _raw('["alerts", "x"]'),  # too short
        _raw('["alerts", "x", true]'),  # a bool is not an id
        _raw('["alerts", 1, 2]'),  # wrong type
        "A" * 201,
    ],
)
def test_refuses_what_it_did_not_make(cursor: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor("alerts", cursor, (str, int))


def test_instant_must_be_aware() -> None:
    assert instant("2027-01-10T12:00:00+00:00").utcoffset() is not None
    for text in ("2027-01-10T12:00:00", "yesterday"):
        with pytest.raises(BadCursor):
            instant(text)
