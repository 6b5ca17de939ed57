"""The stable, machine-readable ``code`` of every error a participant's client can get.

An app branches on ``code``, never on the English of ``detail`` (which is worded for
the participant and translated). Actions name the specific failures
(``ActionError.code``); anything else gets the generic code of its status. This table
is the one list: the OpenAPI document, the docs and the tests read it, and the
participant web app shows the same words for the same failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


def N_(message: str) -> str:  # the gettext convention: marked here, translated when shown
    return message


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int
    words: str  # English msgid of the dashboard catalog, what the participant reads


ERROR_CODES: Final[dict[str, ErrorCode]] = {
    # Generic, by status (Litestar's own validation, auth, routing and guard errors).
    "invalid_request": ErrorCode(400, N_("Something in what was sent is not valid.")),
    "unknown_field": ErrorCode(400, N_("What was sent has a field that is not accepted.")),
    "not_signed_in": ErrorCode(401, N_("Please sign in again with a code by SMS.")),
    "forbidden": ErrorCode(403, N_("This is not open to you.")),
    "not_found": ErrorCode(404, N_("Not found.")),
    "method_not_allowed": ErrorCode(405, N_("This cannot be done here.")),
    "conflict": ErrorCode(409, N_("This conflicts with what is recorded.")),
    "body_too_large": ErrorCode(413, N_("What was sent is too large.")),
    "too_many_requests": ErrorCode(429, N_("Too many attempts. Wait a moment and try again.")),
    # Signing in with a code.
    "code_format": ErrorCode(400, N_("The code has 6 digits.")),
    "code_wrong": ErrorCode(400, N_("That code is not right. Check the SMS and try again.")),
    "code_expired": ErrorCode(400, N_("That code has expired. Ask for a new one.")),
    "too_many_attempts": ErrorCode(
        400, N_("That code was tried too many times. Ask for a new one.")
    ),
    # Check-ins.
    "unknown_symptom": ErrorCode(400, N_("That symptom is not on the list.")),
    "symptom_repeated": ErrorCode(400, N_("A symptom is listed twice.")),
    "severity_required": ErrorCode(400, N_("Say how strong each symptom is.")),
    "temperature_not_asked": ErrorCode(400, N_("A temperature goes only with fever.")),
    "temperature_implausible": ErrorCode(400, N_("The temperature must be between 34 and 43 °C.")),
    "checkin_mismatch": ErrorCode(400, N_("These answers do not belong to this questionnaire.")),
    "checkin_closed": ErrorCode(404, N_("This questionnaire no longer takes answers.")),
    "reason_required": ErrorCode(400, N_("Tell us why you are changing this answer.")),
    "checkin_busy": ErrorCode(409, N_("Your answer is being saved. Try again in a moment.")),
    # Preferences.
    "follow_up_ended": ErrorCode(409, N_("Your follow-up has ended, so this cannot change.")),
}

_BY_STATUS: Final = {
    400: "invalid_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    429: "too_many_requests",
}


def error_code(status: int, code: str | None) -> str:
    """The code to send: the action's own when it named a known one, else its status's."""
    if code in ERROR_CODES:
        return code
    return _BY_STATUS.get(status, "invalid_request" if status < 500 else "server_error")


def codes_for(status: int) -> list[str]:
    """Every code an answer with ``status`` may carry (for the OpenAPI document)."""
    return sorted(name for name, item in ERROR_CODES.items() if item.status == status)
