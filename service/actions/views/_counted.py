"""The dashboard's per-participant figures, counted by the database.

The same definitions as service/domain/adherence.py (whose Python form stays the
reference: tests compare the two on a varied study), applied to the schedule copies
of ``_schedules``:

* a visit's state: the newest recorded outcome wins (missed, or attended in or out of
  its window); with none, the window's opening and closing *instants* in the
  participant's zone decide upcoming / due / missed, and a withdrawal before the
  window closed makes it cancelled;
* a prompt is expected when its window closed after enrolment and by now (or by the
  withdrawal); completed when a complete version of its answers exists, late when the
  first complete version was; the longest run of misses is counted over the expected
  prompts in the order their windows close (the copy's ``position``).

The per-participant figures are kept in summary rows (``_summary``, which uses the
common table expressions below and adds the visits'); here remain the participant
counts and the list's page over the summary rows. Each function is one statement;
none returns a row per participant except the list's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from service.actions.views import _sql

__all__ = [
    "ListQuery",
    "Months",
    "PageRow",
    "list_page",
    "participant_figures",
]

# Participants ``p`` in scope with the key of their schedule copy; first complete
# answers ``ans``; expected prompts ``ask`` and running counts of answers ``run``
# (``_summary`` counts each participant's figures with them).
_PARTICIPANTS = """
p AS (
  SELECT p.id, p.study_id, p.site_id, p.status, p.created_at, p.opted_out, p.paused,
         p.sms_blocked_code, s.key AS schedule_key,
         CASE WHEN p.status = 'active' THEN NULL
              ELSE COALESCE(p.withdrawn_at, p.updated_at) END AS ended_at
  FROM participant p JOIN dashboard_schedule s ON {match}
  WHERE {where}
)"""
_ANSWERS = """
ans AS (
  SELECT c.participant_id, c.checkin_key,
         MIN(c.version * 2 + CASE WHEN c.late THEN 1 ELSE 0 END) AS first_version
  FROM checkin c JOIN p ON p.id = c.participant_id
  WHERE c.complete AND substr(c.checkin_key, 1, 8) = 'checkin:'
  GROUP BY c.participant_id, c.checkin_key
)"""
# Expected prompts; ``bucket``: 1 closed this month, 2 last month, 0 otherwise.
_ASKED = """
ask AS (
  SELECT p.id AS pid, q.position,
         CASE WHEN a.first_version IS NULL THEN 0 ELSE 1 END AS done,
         CASE WHEN a.first_version % 2 = 1 THEN 1 ELSE 0 END AS late,
         CASE WHEN q.expires_at >= ? AND q.expires_at < ? THEN 1
              WHEN q.expires_at >= ? AND q.expires_at < ? THEN 2 ELSE 0 END AS bucket
  FROM p JOIN dashboard_schedule_prompt q ON q.schedule_key = p.schedule_key
  LEFT JOIN ans a ON a.participant_id = p.id AND a.checkin_key = q.checkin_key
  WHERE q.expires_at > p.created_at AND q.expires_at <= ?
    AND (p.ended_at IS NULL OR q.expires_at <= p.ended_at)
),
run AS (
  SELECT pid, bucket, done, late,
    SUM(done) OVER (PARTITION BY pid ORDER BY position ROWS UNBOUNDED PRECEDING) AS streak
  FROM ask
)"""


@dataclass(frozen=True, slots=True)
class Months:
    """The site's two months: instants for events, local dates for visit targets."""

    this_start: datetime
    this_end: datetime
    last_start: datetime
    last_end: datetime
    this_month: date
    next_month: date
    last_month: date


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


async def participant_figures(site: str, m: Months) -> dict[str, int]:
    """Enrolled, active, withdrawn, opted out, blocked now; enrolled and withdrawn in
    each month. One statement that does not grow with the site: the counts by state
    now that triggers keep (migration 0041; counting every participant cost 3.5 ms of
    a page at 10,000), and four ranges of the (site, instant) indexes."""
    month = "(SELECT COUNT(*) FROM participant WHERE site_id = ? AND {c} >= ? AND {c} < ?)"
    rows = await _sql.fetch(
        "SELECT SUM(k) AS enrolled,"  # noqa: S608  # constants
        " SUM(CASE WHEN status = 'active' THEN k ELSE 0 END) AS active,"
        " SUM(CASE WHEN opted_out THEN k ELSE 0 END) AS opted_out,"
        " SUM(CASE WHEN blocked THEN k ELSE 0 END) AS blocked, "
        + ", ".join(
            f"{month.format(c=column)} AS {name}_{which}"
            for name, column in (("enrolled", "created_at"), ("withdrawn", "withdrawn_at"))
            for which in ("this", "last")
        )
        + " FROM dashboard_site_people WHERE site_id = ?",
        [*[site, m.this_start, m.this_end, site, m.last_start, m.last_end] * 2, site],
    )
    return {k: _int(v) for k, v in rows[0].items()}


# ---------------------------------------------------------------- the participant list

# Sort columns of each order (every one ends in the unique study id), as in _list.SORTS.
ORDERS: dict[str, tuple[str, ...]] = {
    "worst": ("checkin_rate", "visit_rate", "study_id"),
    "study_id": ("study_id",),
    "site": ("site_id", "study_id"),
    "checkins": ("checkin_rate", "study_id"),
    "visits": ("visit_rate", "study_id"),
}
TEXT_COLUMNS = frozenset({"study_id", "site_id"})
_FLAG_SQL = {
    "opted_out": "p.opted_out",
    "blocked": "p.sms_blocked_code IS NOT NULL",
    "paused": "p.paused",
    "overdue": "s.overdue",
    "open_alert": (
        "EXISTS (SELECT 1 FROM alert al WHERE al.participant_id = p.id AND al.status = 'open')"
    ),
}


@dataclass(frozen=True, slots=True)
class ListQuery:
    where: str  # over ``s``, the summary rows (scope, site)
    params: list[Any]
    status: str | None
    flags: frozenset[str]
    sort: str
    after: tuple[Any, ...] | None
    limit: int


@dataclass(frozen=True, slots=True)
class PageRow:
    id: int
    key: tuple[Any, ...]  # the sort key, as the cursor carries it


# Flags the summary row answers alone (the others need the participant's row).
_SUMMARY_FLAGS = frozenset({"overdue"})
# The summary's index of each order (migration 0038). SQLite is told which: without
# statistics it would rather take the site's equality and sort every row of the site.
_ORDER_INDEX = {
    "worst": "dashboard_summary_worst",
    "study_id": "dashboard_summary_study",
    "site": "dashboard_summary_site",
    "checkins": "dashboard_summary_checkins",
    "visits": "dashboard_summary_visits",
}


def _after(columns: Sequence[str]) -> str:
    """``(a, b, c) > (?, ?, ?)``: a row value, which both databases compare in order
    and read as an index range (text in byte order: the summary's study and site ids
    are ``COLLATE "C"`` on PostgreSQL, SQLite's default)."""
    if len(columns) == 1:
        return f"s.{columns[0]} > ?"
    names = ", ".join("s." + c for c in columns)
    return f"({names}) > ({', '.join('?' for _ in columns)})"


async def list_page(query: ListQuery) -> tuple[int, list[PageRow]]:
    """How many participants match, and the page's ``limit + 1`` first after the cursor
    (one more than shown: whether there is a next page).

    Read from the summary rows (``_summary``, refreshed by the caller), which carry
    the study id and have an index per order: the page is the first rows of that
    index after the cursor, with the participant's row looked up only for those read
    (SQLite is made to start from the summary rows by ``CROSS JOIN``, which it does
    not reorder, and told the index). The count reads only the summary's
    ``(site_id, study_id)`` index unless a filter needs the participant's row."""
    d = _sql.dialect()
    columns = ORDERS[query.sort]
    filters = ["1 = 1"]
    params: list[Any] = []
    if query.status is not None:
        filters.append("p.status = ?")
        params.append(query.status)
    filters.extend(_FLAG_SQL[f] for f in sorted(query.flags))
    after, after_params = "1 = 1", list(query.after or ())
    if query.after is not None:
        after = _after(columns)
    joined = query.status is not None or bool(query.flags - _SUMMARY_FLAGS)
    join = "JOIN" if d.postgres else "CROSS JOIN"
    indexed = "" if d.postgres else f" INDEXED BY {_ORDER_INDEX[query.sort]}"
    counted = (
        f"dashboard_summary s {join} participant p ON p.id = s.participant_id"
        if joined
        else "dashboard_summary s"
    )
    # Only constants and placeholders go into the text below (S608 is a false alarm).
    order = ", ".join("s." + c for c in columns)
    shown_order = ", ".join("shown." + c for c in columns)
    where = " AND ".join(filters)
    sql = f"""
SELECT t.total, shown.* FROM (
  SELECT COUNT(*) AS total FROM {counted} WHERE {query.where} AND {where}
) t
LEFT JOIN (
  SELECT s.participant_id AS id, s.study_id, s.site_id, s.checkin_rate, s.visit_rate
  FROM dashboard_summary s{indexed} {join} participant p ON p.id = s.participant_id
  WHERE {query.where} AND {where} AND {after} ORDER BY {order} LIMIT ?
) shown ON 1 = 1 ORDER BY {shown_order}"""  # noqa: S608
    all_params = [
        *query.params,
        *params,
        *query.params,
        *params,
        *after_params,
        query.limit + 1,
    ]
    rows = await _sql.fetch(sql, all_params)
    total = _int(rows[0]["total"]) if rows else 0
    page = [
        PageRow(int(r["id"]), tuple(_key_value(r[c], c) for c in columns))
        for r in rows
        if r["id"] is not None
    ]
    return total, page


def _key_value(value: Any, column: str) -> Any:
    return str(value) if column in TEXT_COLUMNS else float(value)
