"""Twilio's error codes in the service's neutral words (:class:`service.ports.SmsFailure`).

One table for every code the service has a reason to know, each with its class and
what it means; the Twilio gateway answers ``explain_error`` from it, and so does the
console gateway, which stands in for Twilio and raises Twilio's codes (21211, 21602).
It imports no SDK, so the console gateway and the tests' doubles can use it.

Unknown codes are transient on purpose: a reminder retried a few times and then given
up beats one dropped on a code we never saw. HTTP statuses alone never make an error
permanent: a 5xx, a 429, a 401 or a bare 400 from a proxy may all pass.
"""

from __future__ import annotations

from typing import Final

from service.ports import ProviderError, SmsFailure

__all__ = ["CODES", "explain_twilio_error"]

_F = SmsFailure

CODES: Final[dict[int, tuple[SmsFailure, str]]] = {
    # The person's number: nothing more is sent to it (blocks the participant).
    21610: (_F.OPTED_OUT, "the recipient unsubscribed (replied STOP)"),
    30004: (_F.BLOCKED_NUMBER, "message blocked by the recipient or the carrier"),
    21211: (_F.INVALID_NUMBER, "invalid 'To' phone number"),
    21407: (_F.INVALID_NUMBER, "this number type does not support SMS"),
    21612: (_F.INVALID_NUMBER, "'To' is not reachable by SMS from this sender"),
    21614: (_F.INVALID_NUMBER, "'To' is not a valid mobile number"),
    30005: (_F.INVALID_NUMBER, "unknown destination handset (the number does not exist)"),
    30006: (_F.INVALID_NUMBER, "landline or unreachable carrier"),
    # This message can never go as it is; the number stays usable.
    21408: (_F.MESSAGE_REJECTED, "SMS not enabled for the region of 'To' (geo permissions)"),
    21602: (_F.MESSAGE_REJECTED, "message body is required"),
    21604: (_F.MESSAGE_REJECTED, "'To' phone number is required"),
    21608: (_F.MESSAGE_REJECTED, "'To' is not verified (trial account)"),
    21617: (_F.MESSAGE_REJECTED, "message body exceeds 1600 characters"),
    21619: (_F.MESSAGE_REJECTED, "message body, media or content SID required"),
    30007: (_F.MESSAGE_REJECTED, "filtered by the carrier as spam"),
    # Our account or settings: every message fails until a person fixes it.
    20003: (_F.ACCOUNT, "authentication failed (account SID or auth token)"),
    20404: (_F.ACCOUNT, "resource not found (wrong account SID)"),
    21212: (_F.ACCOUNT, "invalid 'From' number"),
    21603: (_F.ACCOUNT, "neither 'From' nor a Messaging Service is set"),
    21606: (_F.ACCOUNT, "'From' is not a message-capable number of this account"),
    21659: (_F.ACCOUNT, "'From' is not a Twilio number, or a short code's country differs"),
    30002: (_F.ACCOUNT, "the Twilio account is suspended"),
    # Waiting and retrying is the right move.
    14107: (_F.TRANSIENT, "SMS send rate limit exceeded"),
    20429: (_F.TRANSIENT, "too many requests"),
    20500: (_F.TRANSIENT, "Twilio internal error"),
    20503: (_F.TRANSIENT, "Twilio service unavailable"),
    30001: (_F.TRANSIENT, "queue overflow"),
    30003: (_F.TRANSIENT, "unreachable handset (off or out of coverage)"),
    30008: (_F.TRANSIENT, "unknown error"),
    30009: (_F.TRANSIENT, "missing segment"),
    30017: (_F.TRANSIENT, "carrier network congestion"),
    30022: (_F.TRANSIENT, "US A2P 10DLC rate limit"),
}


def explain_twilio_error(code: int | None) -> ProviderError:
    """The class and meaning of a Twilio error code (None: no code was given)."""
    if code is None:
        return ProviderError(None, SmsFailure.TRANSIENT, "no error code")
    failure, meaning = CODES.get(code, (SmsFailure.TRANSIENT, "a Twilio error code not listed"))
    return ProviderError(code, failure, meaning)
