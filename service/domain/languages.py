"""The languages a participant can read their messages in: one list for the catalogs,
the API's validation and the participant's own preferences."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_PATTERN"]

LANGUAGES: Final = ("es", "en")
DEFAULT_LANGUAGE: Final = "es"  # the trial runs in Santiago
# For parameters validated by pattern (a query string's ``lang``).
LANGUAGE_PATTERN: Final = f"^({'|'.join(LANGUAGES)})$"
