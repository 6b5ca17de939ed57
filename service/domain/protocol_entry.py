"""The protocol file's reader parts: the error every mistake becomes, and one TOML
table that checks its own keys and values and names itself in every error.

Kept apart from :mod:`service.domain.protocol_loader` so the loader reads as the
list of sections it validates, and the extras (phrases, daily budget) can share the
same reader.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import time
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

__all__ = ["ProtocolError", "TableEntry", "is_int"]

_E = TypeVar("_E", bound=StrEnum)

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MESSAGE_KEY = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# Keys an older protocol file may still hold: refused with what replaced them.
_RETIRED = {
    "report_phrases": '"says"',
    "pregnancy_phrases": '"pregnancy_says"',
}


class ProtocolError(ValueError):
    """A protocol file the service refuses to run with.

    ``source`` is the file, ``entry`` the table within it (``visits[6] (code "M2")``)
    and ``problem`` what is wrong and how to fix it.
    """

    def __init__(self, source: str, entry: str, problem: str) -> None:
        super().__init__(f"{source}: {entry}: {problem}")
        self.source = source
        self.entry = entry
        self.problem = problem


class TableEntry:
    """One TOML table plus the name errors about it carry."""

    def __init__(self, source: str, name: str, table: dict[str, Any]) -> None:
        self.source, self.name, self.table = source, name, table

    def fail(self, problem: str) -> NoReturn:
        raise ProtocolError(self.source, self.name, problem)

    def check_keys(
        self, required: Iterable[str], optional: Iterable[str] = (), what: str = "key"
    ) -> None:
        required = tuple(required)
        allowed = (*required, *optional)
        for key in self.table:
            if key not in allowed and key in _RETIRED:
                self.fail(
                    f'"{key}" is no longer read: red flags are written as patterns in '
                    f'{_RETIRED[key]} (see schedules/README.md, "Red flags in free text")'
                )
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f'did you mean "{close[0]}"?' if close else f"allowed: {', '.join(allowed)}"
                self.fail(f'unknown {what} "{key}"; {hint}')
        for key in required:
            if key not in self.table:
                self.fail(f'missing required {what} "{key}"')

    def subtable(self, key: str) -> dict[str, Any]:
        value = self.table[key]
        if not isinstance(value, dict):
            self.fail(f"{key} must be a table: write [{key}] followed by its keys")
        return value

    def entries(self, key: str, required: bool = False) -> list[TableEntry]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            self.fail(f"{key} must be an array of tables: write each entry under [[{key}]]")
        if required and not value:
            self.fail(f"at least one [[{key}]] entry is required")
        named = []
        for i, table in enumerate(value, start=1):
            code = table.get("code")
            suffix = f' (code "{code}")' if isinstance(code, str) and code else ""
            named.append(TableEntry(self.source, f"{key}[{i}]{suffix}", table))
        return named

    def _get(self, key: str, kind: str, ok: Callable[[Any], bool], default: Any) -> Any:
        if key not in self.table:
            if default is None:
                self.fail(f'missing required key "{key}"')
            return default
        value = self.table[key]
        if not ok(value):
            unquote = " (write it without quotes)" if isinstance(value, str) else ""
            self.fail(f"{key} must be {kind}, got {value!r}{unquote}")
        return value

    def text(self, key: str) -> str:
        value: str = self._get(key, "a non-empty string", lambda v: isinstance(v, str), None)
        if not value.strip():
            self.fail(f"{key} must be a non-empty string")
        return value

    def code(self, key: str) -> str:
        value = self.text(key)
        if not _CODE.fullmatch(value):
            self.fail(f"{key} must be letters, digits, _ . or - without spaces, got {value!r}")
        return value

    def message_key(self, key: str) -> str:
        value = self.text(key)
        if not _MESSAGE_KEY.fullmatch(value):
            self.fail(
                f"{key} must be a dotted lowercase message key such as "
                f'"reminder.clinic.day_before", got {value!r}'
            )
        return value

    def integer(self, key: str, minimum: int | None = None, default: int | None = None) -> int:
        value: int = self._get(key, "an integer", is_int, default)
        if minimum is not None and value < minimum:
            self.fail(f"{key} must be an integer >= {minimum}, got {value}")
        return value

    def number(self, key: str) -> float:
        return float(self._get(key, "a number", lambda v: is_int(v) or type(v) is float, None))

    def boolean(self, key: str, default: bool | None = None) -> bool:
        value: bool = self._get(key, "true or false", lambda v: isinstance(v, bool), default)
        return value

    def enum(self, key: str, enum: type[_E]) -> _E:
        choices = ", ".join(f'"{m.value}"' for m in enum)
        values = {m.value for m in enum}
        value = self._get(
            key, f"one of {choices}", lambda v: isinstance(v, str) and v in values, None
        )
        return enum(value)

    def clock(self, key: str, default: time | None = None) -> time:
        """``"HH:MM"``; a TOML local time (``10:00:00``) with zero seconds also passes."""
        value = self._get(key, 'a "HH:MM" string', lambda v: isinstance(v, str | time), default)
        if isinstance(value, time):
            if value.second or value.microsecond or value.tzinfo is not None:
                self.fail(f'{key} must be a whole minute, written "HH:MM", got {value}')
            return value
        match = _HH_MM.fullmatch(value)
        if match is None:
            self.fail(f'{key} must be a 24-hour time written "HH:MM" (e.g. "09:30"), got {value!r}')
        return time(int(match[1]), int(match[2]))


def is_int(value: Any) -> bool:
    """A TOML integer (TOML's booleans are Python ints, and are not one)."""
    return isinstance(value, int) and not isinstance(value, bool)
