"""Keep phone numbers out of log lines.

Participants of a blinded trial are identified by study id, never by phone: a log line
that carries a number is a disclosure waiting for a log shipper. ``mask_phone`` is what
our own log calls use; ``PhoneRedactingFilter`` is the safety net for everybody else's
(the twilio SDK, aiohttp, uvicorn, exception messages that echo a request).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

__all__ = [
    "PhoneRedactingFilter",
    "install_phone_redaction",
    "mask_phone",
    "redact_phones",
]

# Shown digits at the end: enough for a coordinator to tell two of a participant's
# numbers apart, far too few to dial.
_VISIBLE_TAIL = 2

# "+" (or its URL-encoded "%2B", as in logged query strings) then 7..15 digits, maybe
# split by spaces, dots, dashes or brackets ("+56 9 1234 5678", "+1 (415) 555-2671").
# The look-arounds keep us from biting into longer digit runs; already-masked output
# ("+56 9 **** **12") has too few digits to match again.
_E164_LIKE = re.compile(r"(?<!\d)(?:\+|%2[bB])[1-9](?:[ .\-()]{0,2}\d){6,14}(?!\d)")


def _country_code(digits: str) -> str:
    """Longest-prefix lookup: calling codes are prefix-free, 1 to 3 digits long."""
    for length in (1, 2, 3):
        prefix = digits[:length]
        if len(prefix) == length and int(prefix) in COUNTRY_CODE_TO_REGION_CODE:
            return prefix
    return ""


def mask_phone(e164: str) -> str:
    """Mask a phone number for logs: ``+56912345612`` -> ``+56 9 **** **12``.

    Only the country code and the last two digits survive (plus the leading ``9`` that
    every Chilean mobile shares, which says "mobile" and identifies nobody). Never
    raises: it is called while logging, where an exception would lose the line.
    """
    digits = "".join(ch for ch in str(e164) if ch.isdigit())
    if len(digits) < 4:
        return "***"
    cc = _country_code(digits) if str(e164).lstrip().startswith("+") else ""
    national = digits[len(cc) :]
    if len(national) <= _VISIBLE_TAIL:
        return f"+{cc} ***" if cc else "***"
    lead = ""
    if cc == "56" and len(national) == 9 and national.startswith("9"):
        lead, national = "9", national[1:]
    masked = "*" * (len(national) - _VISIBLE_TAIL) + national[-_VISIBLE_TAIL:]
    # Group in fours from the right, like the number is read aloud.
    head = len(masked) % 4
    groups = ([masked[:head]] if head else []) + [
        masked[i : i + 4] for i in range(head, len(masked), 4)
    ]
    parts = ([f"+{cc}"] if cc else []) + ([lead] if lead else []) + groups
    return " ".join(parts)


def redact_phones(text: str) -> str:
    """Replace every E.164-looking number inside free text with its mask."""
    if "+" not in text and "%2" not in text:
        return text
    return _E164_LIKE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    number = found[3:] if found.startswith("%") else found[1:]  # drop "+" or "%2B"
    return mask_phone("+" + number)


class PhoneRedactingFilter(logging.Filter):
    """Rewrites a record's message (and exception text) with phone numbers masked.

    Attach it to HANDLERS, not to a logger: a logger's filters only see records logged
    on that very logger, so a filter on the root logger would miss everything that
    propagates up from ``twilio.*`` or ``service.*``. Use ``install_phone_redaction``.
    """

    _formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        """What this filter hides; a subclass widens it (``service.logs``)."""
        return redact_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format is not ours to fix; leave the record as is
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_phone_redaction(
    loggers: Iterable[logging.Logger] | None = None,
) -> PhoneRedactingFilter:
    """Attach one shared filter to every handler of the root logger and of any logger
    that owns handlers (uvicorn's, which do not propagate). Call it after logging is
    configured; handlers added later need ``handler.addFilter(filter)`` themselves.
    """
    redaction = PhoneRedactingFilter()
    if loggers is None:
        named = [
            obj
            for obj in logging.root.manager.loggerDict.values()
            if isinstance(obj, logging.Logger)
        ]
        loggers = [logging.getLogger(), *named]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, PhoneRedactingFilter) for f in handler.filters):
                handler.addFilter(redaction)
    return redaction
