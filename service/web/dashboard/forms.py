"""Reading a dashboard form: only the fields the page has, each once, as text.

A browser never sends a field its form does not have, so an unknown or repeated field
is a crafted request: it is refused (400, naming the field) before any action runs,
like the API refuses unknown JSON fields. ``csrf_token`` is always allowed (the guard
has already checked it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from litestar import Request
from litestar.exceptions import ValidationException

MAX_VALUE: Final = 4000


def _refuse(field: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"{field}: {message}", extra=[{"key": field, "message": message, "source": "body"}]
    )


async def read_form(
    request: Request[Any, Any, Any], fields: Iterable[str], *, multi: Iterable[str] = ()
) -> dict[str, str]:
    """The posted form as ``{field: value}``, every allowed field present ("" if absent).

    A field named in ``multi`` (a group of checkboxes) may come several times; its
    values are joined with commas (they are codes that never hold one)."""
    repeated = set(multi)
    allowed = {*fields, *repeated, "csrf_token"}
    form = await request.form()
    values: dict[str, str] = dict.fromkeys(allowed - {"csrf_token"}, "")
    for key in form:
        if key not in allowed:
            raise _refuse(key[:64], "is not a field of this form")
        items = form.getall(key)
        if not all(isinstance(i, str) for i in items) or (len(items) != 1 and key not in repeated):
            raise _refuse(key, "must be sent once, as text")
        value = ",".join(str(i) for i in items)
        if "\x00" in value or len(value) > MAX_VALUE:
            raise _refuse(key, f"must be text without NUL, at most {MAX_VALUE} characters")
        if key != "csrf_token":
            values[key] = value
    return values
