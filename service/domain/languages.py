"""The languages the service speaks: one list for the catalogs, the API's validation,
the participant's own preferences and the dashboard's pages, and the Babel locale
each stands for when dates, numbers and lists are formatted (``es`` is Chile's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "BABEL_LOCALES",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_PATTERN",
    "formatting_locale",
]

LANGUAGES: Final = ("es", "en")
DEFAULT_LANGUAGE: Final = "es"  # the trial runs in Santiago
# For parameters validated by pattern (a query string's ``lang``).
LANGUAGE_PATTERN: Final = f"^({'|'.join(LANGUAGES)})$"

BABEL_LOCALES: Final[Mapping[str, str]] = {"es": "es_CL", "en": "en"}
"""Language -> the Babel locale used for dates, numbers and lists."""


def formatting_locale(language: str) -> str:
    """The Babel locale of ``language``; anything unknown formats as the default's."""
    return BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE])
