"""The participant list's filters, sorts and pages (limit + cursor).

Sorting is on computed figures (completion, visit adherence), so the list is built
for everyone in scope first (a fixed number of statements, see dashboard_rows) and
then filtered, sorted and cut. The cursor is the sort key of the last row shown,
not an offset (encoded like every cursor, by ``domain/paging.py``): a participant
entered between two page loads does not shift the next page, and a tampered cursor
is refused with a 4xx naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from service.actions.errors import FieldInvalid
from service.actions.views._rows import Flag, ParticipantRow, worst_first
from service.domain.paging import BadCursor, decode_sort_key, encode_cursor

__all__ = [
    "SORTS",
    "RowPage",
    "filter_rows",
    "page_of",
    "parse_flags",
]

_LAST = 2.0  # sorts after any rate: nothing expected yet

SortKey = Callable[[ParticipantRow], tuple[Any, ...]]
SORTS: dict[str, SortKey] = {
    "worst": worst_first,  # the default: who needs a call first
    "study_id": lambda r: (r.study_id,),
    "site": lambda r: (r.fact.site, r.study_id),
    "checkins": lambda r: (_or_last(r.checkins.rate), r.study_id),
    "visits": lambda r: (_or_last(r.visit_rate), r.study_id),
}


def _or_last(value: float | None) -> float:
    return _LAST if value is None else value


@dataclass(frozen=True, slots=True)
class RowPage:
    rows: list[ParticipantRow]
    total: int  # rows matching the filters, all pages
    next_cursor: str | None


def parse_flags(values: Iterable[str]) -> frozenset[Flag]:
    flags = set()
    for value in values:
        try:
            flags.add(Flag(value))
        except ValueError:
            known = ", ".join(f.value for f in Flag)
            raise FieldInvalid(f"flag must be one of {known}", field="flag") from None
    return frozenset(flags)


def filter_rows(rows: Iterable[ParticipantRow], flags: frozenset[Flag]) -> list[ParticipantRow]:
    """Rows carrying every one of ``flags``."""
    return [row for row in rows if flags <= row.flags]


_CURSOR_KIND = "participant-list"


def _decode(cursor: str) -> tuple[Any, ...]:
    """The sort key a page ended at; the last element is always the (text) study id."""
    try:
        key = decode_sort_key(_CURSOR_KIND, cursor)
    except BadCursor:
        raise FieldInvalid("cursor is not one this list gave", field="cursor") from None
    if not isinstance(key[-1], str):
        raise FieldInvalid("cursor is not one this list gave", field="cursor")
    return key


def page_of(
    rows: Sequence[ParticipantRow], *, sort: str, limit: int, cursor: str | None
) -> RowPage:
    """One page of ``rows`` in ``sort`` order, after ``cursor``; every key ends in the
    (unique) study id, so no two rows share a key and none is skipped or repeated."""
    key = SORTS.get(sort)
    if key is None:
        raise FieldInvalid(f"sort must be one of {', '.join(SORTS)}", field="sort")
    if not 1 <= limit <= 500:
        raise FieldInvalid("limit must be from 1 to 500", field="limit")
    ordered = sorted(rows, key=key)
    if cursor:
        after = _decode(cursor)
        if ordered and len(after) != len(key(ordered[0])):
            raise FieldInvalid("cursor is not one this list gave", field="cursor")
        try:
            ordered = [row for row in ordered if key(row) > after]
        except TypeError:  # a number where this order has a text, or the reverse
            raise FieldInvalid("cursor is not one this list gave", field="cursor") from None
    shown = ordered[:limit]
    more = len(ordered) > limit
    return RowPage(
        rows=shown,
        total=len(rows),
        next_cursor=encode_cursor(_CURSOR_KIND, key(shown[-1])) if more and shown else None,
    )
