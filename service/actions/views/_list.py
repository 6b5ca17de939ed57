"""The participant list's filters, sorts and pages (limit + cursor).

The page (``participant_page``) is chosen by the database: it computes every
participant's completion and visit adherence (``_counted``), filters, sorts and cuts
there, and only the page's participants are built as rows in Python (``build_rows``,
so a row shows exactly what the domain computes). ``page_of`` and ``filter_rows`` do
the same over rows already built (the CSV and XLSX downloads, which hold everyone,
and the tests' reference). The cursor is the sort key of the last row shown,
not an offset (encoded like every cursor, by ``domain/paging.py``): a participant
entered between two page loads does not shift the next page, and a tampered cursor
is refused with a 4xx naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from service.actions.errors import FieldInvalid
from service.actions.views import _counted
from service.actions.views import _queries as q
from service.actions.views._rows import Flag, ParticipantRow, build_rows, scope_for, worst_first
from service.actions.views._schedules import scope_sql
from service.actions.views._summary import counting_months, refresh
from service.domain.actors import Actor
from service.domain.adherence import month_periods
from service.domain.paging import BadCursor, decode_sort_key, encode_cursor
from service.runtime import Runtime

__all__ = [
    "SORTS",
    "RowPage",
    "filter_rows",
    "page_of",
    "parse_flags",
    "participant_page",
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


def _checked(sort: str, limit: int) -> tuple[str, ...]:
    columns = _counted.ORDERS.get(sort)
    if columns is None:
        raise FieldInvalid(f"sort must be one of {', '.join(SORTS)}", field="sort")
    if not 1 <= limit <= 500:
        raise FieldInvalid("limit must be from 1 to 500", field="limit")
    return columns


def _cursor_key(cursor: str, columns: tuple[str, ...]) -> tuple[Any, ...]:
    """The cursor's sort key, if it fits this order (a text where a text sorts, a
    number where a rate does)."""
    key = _decode(cursor)
    if len(key) != len(columns):
        raise FieldInvalid("cursor is not one this list gave", field="cursor")
    for value, column in zip(key, columns, strict=True):
        text = column in _counted.TEXT_COLUMNS
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if (text and not isinstance(value, str)) or (not text and not number):
            raise FieldInvalid("cursor is not one this list gave", field="cursor")
    return key


async def participant_page(
    rt: Runtime,
    actor: Actor,
    *,
    site: str | None = None,
    status: str | None = None,
    flags: frozenset[Flag] = frozenset(),
    sort: str = "worst",
    limit: int = 50,
    cursor: str | None = None,
) -> RowPage:
    """One page of the list, as ``page_of(filter_rows(participant_rows(...)))`` gives
    it, without building anyone else's row."""
    columns = _checked(sort, limit)
    after = _cursor_key(cursor, columns) if cursor else None
    scope = scope_for(actor)
    now = rt.clock.now()
    sites = [s for s in await q.scoped_sites(scope) if site is None or s.code == site]
    months = [(s.code, counting_months(month_periods(now, s.timezone))) for s in sites]
    await refresh(rt, scope, now, months)
    where, params = scope_sql(scope, site, column="s.site_id")
    query = _counted.ListQuery(
        where, params, status, frozenset(f.value for f in flags), sort, after, limit
    )
    total, found = await _counted.list_page(query)
    shown = found[:limit]
    ids = [r.id for r in shown]
    facts = await q.participant_facts(scope, ids=ids)
    # By id alone: a row is built only for the facts above, which are in scope (with
    # the scope, PostgreSQL joined every participant of the site to filter 50 ids).
    outcomes = await q.visit_outcomes(None, ids=ids)
    answers = await q.checkin_answers(None, ids=ids)
    open_ids = await q.open_alert_ids(scope, ids)
    built = {r.fact.id: r for r in build_rows(rt, facts, outcomes, answers, open_ids)}
    more = len(found) > limit
    return RowPage(
        rows=[built[i] for i in ids if i in built],
        total=total,
        next_cursor=encode_cursor(_CURSOR_KIND, shown[-1].key) if more and shown else None,
    )
