"""Phone numbers in, E.164 out. Chile is the default region, so "9 6123 4567" works."""

from __future__ import annotations

import functools

import phonenumbers
from phonenumbers import PhoneNumberType

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(ValueError):
    pass


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("is not a valid phone number")
    return number


def normalize_mobile(raw: str, region: str = "CL") -> str:
    """E.164 for a number that can receive SMS; refuses landlines with a reason.

    libphonenumber cannot tell Chilean landlines from mobiles (both are
    FIXED_LINE_OR_MOBILE), but Chile's mobile plan is unambiguous: +56 9 XXXX XXXX.
    """
    number = _parse(raw.strip(), region)
    chilean_landline = number.country_code == 56 and not str(number.national_number).startswith("9")
    if chilean_landline or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone("is not a mobile number (SMS cannot reach it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def normalize_any(raw: str, region: str = "CL") -> str:
    """E.164 for any valid number (used for inbound webhook senders). Remembered: the
    same few thousand participants write again and again, and parsing costs a
    webhook more than storing its message does."""
    return phonenumbers.format_number(
        _parse(raw.strip(), region), phonenumbers.PhoneNumberFormat.E164
    )
