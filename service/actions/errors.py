"""Failures an action reports to whoever called it; the web layer maps them to 4xx.

Actions raise these before they write anything (or inside the transaction, which
then rolls back), so a refused request leaves the database unchanged.
"""

from __future__ import annotations


class ActionError(Exception):
    """``code`` is the stable, machine-readable name of the failure a client may branch
    on (``unknown_symptom``); the web layer fills a generic one from the status when
    an action gives none, and words the participant's message from it."""

    status_code = 400
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        source: str = "body",
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.source = source  # where the field came from: body, query or path
        if code is not None:
            self.code = code


class FieldInvalid(ActionError):
    """A value that cannot be right (names the field)."""


class Conflict(ActionError):
    status_code = 409


class NotFound(ActionError):
    status_code = 404


class Forbidden(ActionError):
    status_code = 403
