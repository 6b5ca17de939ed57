"""Which language to word a participant's answer in, wherever it is decided.

A signed-in participant's own language (the session's, remembered on the request by
the auth dependency); before sign-in, the first language of ``Accept-Language`` the
service speaks; otherwise Spanish, the trial's language.
"""

from __future__ import annotations

from typing import Any, Final

from litestar.connection import ASGIConnection

from service.domain.languages import DEFAULT_LANGUAGE, LANGUAGES

STATE_KEY: Final = "participant_language"


def remember_language(connection: ASGIConnection[Any, Any, Any, Any], language: str | None) -> None:
    if language in LANGUAGES:
        connection.scope.setdefault("state", {})[STATE_KEY] = language


def accepted_language(header: str) -> str | None:
    """The first language of an ``Accept-Language`` header the service speaks."""
    for part in header.split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return None


def participant_locale(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    known = connection.scope.get("state", {}).get(STATE_KEY)
    if isinstance(known, str):
        return known
    return accepted_language(connection.headers.get("accept-language", "")) or DEFAULT_LANGUAGE
