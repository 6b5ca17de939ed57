"""Phone numbers never reach a log line in the clear."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.adapters.redaction import (
    PhoneRedactingFilter,
    install_phone_redaction,
    mask_phone,
    redact_phones,
)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+56912345612", "+56 9 **** **12"),  # Chilean mobile
        ("+56221234567", "+56 * **** **67"),  # Santiago landline
        ("+14155552671", "+1 ** **** **71"),
        ("+447911123456", "+44 ** **** **56"),
        ("+5691", "+56 ***"),
        ("56912345612", "*** **** **12"),  # no "+": no country code shown either
        ("", "***"),
        ("not a number", "***"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@given(st.from_regex(r"\A9\d{8}\Z"))
def test_chilean_mobiles_show_only_the_last_two_digits(national: str) -> None:
    assert mask_phone("+56" + national) == f"+56 9 **** **{national[-2:]}"


@given(st.sampled_from(["1", "44", "56", "34", "593"]), st.from_regex(r"\A[1-9]\d{6,11}\Z"))
def test_at_most_three_national_digits_survive(cc: str, national: str) -> None:
    masked = mask_phone(f"+{cc}{national}")

    assert masked.startswith(f"+{cc} ")
    shown = re.sub(r"\D", "", masked.removeprefix(f"+{cc} "))
    assert len(shown) <= 3
    assert masked.endswith(national[-2:])


@given(st.text())
def test_mask_phone_never_raises(anything: str) -> None:
    assert isinstance(mask_phone(anything), str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sent to +56912345612 ok", "sent to +56 9 **** **12 ok"),
        ("to=+56 9 1234 5612.", "to=+56 9 **** **12."),
        ("call +1 (415) 555-2671 now", "call +1 ** **** **71 now"),
        ("GET /x?To=%2B56912345612&a=1", "GET /x?To=+56 9 **** **12&a=1"),
        ("a,+56912345612,b", "a,+56 9 **** **12,b"),
    ],
)
def test_redact_phones_in_text(text: str, expected: str) -> None:
    assert redact_phones(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2027-01-13T15:00:00+00:00",
        "offset +0000",
        "study MSC-ROLE-007, visit +12 days",
        "already +56 9 **** **12",
        "temperature 38.5, 3 segments",
    ],
)
def test_redact_phones_leaves_other_text_alone(text: str) -> None:
    assert redact_phones(text) == text


@given(st.from_regex(r"\A\+569\d{8}\Z"), st.text(alphabet=st.characters(exclude_categories=["Nd"])))
def test_redacted_text_never_contains_the_number(number: str, around: str) -> None:
    assert number[3:] not in redact_phones(f"{around}{number}{around}")


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("Invalid 'To' Phone Number: +56912345612")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("x", logging.WARNING, __file__, 1, msg, args or None, exc_info)


def test_filter_masks_message_and_arguments() -> None:
    record = _record("send to %s failed (%d)", "+56912345612", 400)

    assert PhoneRedactingFilter().filter(record) is True
    assert record.getMessage() == "send to +56 9 **** **12 failed (400)"


def test_filter_masks_exception_text() -> None:
    record = _record("boom", exc=True)

    PhoneRedactingFilter().filter(record)
    rendered = logging.Formatter().format(record)

    assert "+56912345612" not in rendered
    assert "+56 9 **** **12" in rendered


def test_filter_leaves_clean_and_broken_records_alone() -> None:
    clean = _record("dispatched %d messages", 3)
    broken = _record("%s and %s", "only one")

    PhoneRedactingFilter().filter(clean)
    assert PhoneRedactingFilter().filter(broken) is True

    assert (clean.msg, clean.args) == ("dispatched %d messages", (3,))
    assert broken.args == ("only one",)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def root_handler() -> Iterator[_ListHandler]:
    handler = _ListHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        # install_phone_redaction touched every handler; leave them as they were.
        loggers = [root, *logging.root.manager.loggerDict.values()]
        for logger in loggers:
            for other in getattr(logger, "handlers", []):
                for f in [f for f in other.filters if isinstance(f, PhoneRedactingFilter)]:
                    other.removeFilter(f)


def test_install_covers_records_propagating_from_any_logger(root_handler: _ListHandler) -> None:
    install_phone_redaction()
    install_phone_redaction()  # idempotent

    logging.getLogger("twilio.http_client").warning("Query Params: {'To': '+56912345612'}")

    assert root_handler.lines == ["Query Params: {'To': '+56 9 **** **12'}"]
    assert sum(isinstance(f, PhoneRedactingFilter) for f in root_handler.filters) == 1
