"""Failures an action reports to whoever called it; the web layer maps them to 4xx.

Actions raise these before they write anything (or inside the transaction, which
then rolls back), so a refused request leaves the database unchanged.
"""

from __future__ import annotations


class ActionError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, source: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.source = source  # where the field came from: body, query or path


class FieldInvalid(ActionError):
    """A value that cannot be right (names the field)."""


class Conflict(ActionError):
    status_code = 409


class NotFound(ActionError):
    status_code = 404


class Forbidden(ActionError):
    status_code = 403
