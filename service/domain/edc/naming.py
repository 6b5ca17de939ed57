"""REDCap's naming rules, reproduced exactly.

REDCap derives each event's ``unique_event_name`` itself from the event's label and
ignores any other name in an uploaded file, so a feed that guesses differently writes
to events the project does not have. The rule below follows REDCap's own
``Project::getUniqueEventNames`` (v15): trim; drop every character outside
``[0-9A-Za-z_ ]`` (accented letters too: "Día" -> "Da"); spaces to ``_``; keep the
first 18 characters; lower case; strip leading and trailing ``_``; if nothing is left,
the first 10 hex digits of the label's MD5; append ``_arm_N``; the second event with
the same name gets ``b`` appended, the third ``c``, and so on.

An event's label (``event_name``) is at most 30 characters: REDCap refuses a longer
one when events are imported. :func:`short_event_label` shortens a label at a word
and the mapping checks that the shortened labels give the very unique names the full
ones gave, so the unique event names stay what they always were.

Field names follow REDCap's variable rules: lower case letters, digits and ``_``,
starting with a letter; we also keep them within REDCap's recommended 26 characters.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from typing import Final

__all__ = [
    "MAX_EVENT_LABEL",
    "MAX_FIELD_NAME",
    "EdcMappingError",
    "field_name_problem",
    "short_event_label",
    "unique_event_names",
    "unique_group_names",
]

MAX_FIELD_NAME: Final = 26
MAX_EVENT_LABEL: Final = 30  # REDCap's own check on an event's name
_EVENT_DROP: Final = re.compile(r"[^0-9a-z_ ]", re.IGNORECASE)
_FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_RESERVED: Final = frozenset(
    {
        "redcap_event_name",
        "redcap_data_access_group",
        "redcap_repeat_instance",
        "redcap_repeat_instrument",
        "redcap_survey_identifier",
        "event_id",
        "instance",
        "action",
        "new",
        "case",
        "class",
        "enum",
    }
)


class EdcMappingError(ValueError):
    """The protocol or a record cannot be placed in the EDC mapping; names what and why."""


def _base_event_name(label: str) -> str:
    text = html.unescape(label).strip()
    kept = _EVENT_DROP.sub("", text)
    short = kept.replace(" ", "_")[:18].lower().strip("_")
    if not short:
        short = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    return short


def _suffix(count: int) -> str:
    if count == 0:
        return ""
    if count < 26:
        return chr(97 + count)
    if count < 702:
        return chr(96 + count // 26) + chr(97 + count % 26)
    return "??"


def unique_event_names(events: Iterable[tuple[str, int]]) -> list[str]:
    """REDCap's unique names for ``(event label, arm number)`` pairs, in project order."""
    seen: list[str] = []
    names: list[str] = []
    for label, arm in events:
        text = f"{_base_event_name(label)}_arm_{arm}"
        names.append(text + _suffix(seen.count(text)))
        seen.append(text)
    return names


def short_event_label(label: str) -> str:
    """``label`` within ``MAX_EVENT_LABEL`` characters: cut after a whole word, marked
    with an ellipsis (which REDCap's naming rule drops, like any other symbol)."""
    label = " ".join(label.split())
    if len(label) <= MAX_EVENT_LABEL:
        return label
    room = label[: MAX_EVENT_LABEL - 1]
    cut = room.rsplit(" ", 1)[0] if " " in room else room
    return cut.rstrip(" ,;:-(") + "…"


def field_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a REDCap field name, or None when it can."""
    if not _FIELD_NAME.fullmatch(name):
        return f"{name!r} is not a REDCap field name (lower case letters, digits, _)"
    if len(name) > MAX_FIELD_NAME:
        return f"{name!r} is longer than {MAX_FIELD_NAME} characters"
    if name in _RESERVED or name.endswith("_complete"):
        return f"{name!r} is reserved by REDCap"
    return None


def unique_group_names(labels: Iterable[str]) -> list[str]:
    """REDCap's unique Data Access Group names, as ``Project::getUniqueGroupNames`` makes
    them: like event names, but without the arm and with one trailing ``_`` removed."""
    seen: list[str] = []
    names: list[str] = []
    for label in labels:
        text = html.unescape(label).strip()
        short = _EVENT_DROP.sub("", text).replace(" ", "_")[:18].lower()
        short = short.removesuffix("_")
        if not short:
            short = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
        names.append(short + _suffix(seen.count(short)))
        seen.append(short)
    return names
