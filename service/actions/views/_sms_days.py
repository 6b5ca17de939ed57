"""The overview's SMS figures from closed spans kept per site, plus the last few
minutes counted live.

Counting a month of messages read every message of it, so the overview grew with the
study (10,000 participants: 270 of its 350 ms). A closed span's figures are kept in
``sms_day`` (docs/decisions/0110) once computed: messages sent, delivered and failed
in it, by WhatsApp, by SMS instead of WhatsApp, and how many visit reminders were how
late, to the tenth of a second (the page shows minutes; a list of every value made
reading the spans grow with the study again). A span is a closed local day, one
of today's closed hours (docs/decisions/0115), or one of the current hour's closed
five minutes (docs/decisions/0122): counting all of today made a page read a whole
reminder wave, 10,000 messages at 10,000 participants, and counting the current hour
made it read the wave for the hour after it was sent. Triggers delete a span whose
messages change (migration 0037). A page reads the kept spans of this month and last
month, counts those missing and the live rest (three statements over those spans'
rows only) and keeps what it counted. When an hour closes its row replaces its five
minutes; when a day closes, its hours.

A span counted while one of its messages was being written could miss that write
(the trigger found no row to delete yet): a span counted within ``SETTLING`` of its
end is counted again after ``RECOUNT``, so such a miss lasts an hour at most. So the
first page of each hour counts today's closed hours again, with the hour just closed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from service.actions.views import _sql
from service.domain.adherence import MonthPeriods, first_instant

__all__ = ["DayFigures", "SiteMonths", "sms_months"]

SETTLING = timedelta(days=2)  # receipts and reconciliation touch a day mostly within this
RECOUNT = timedelta(hours=1)
HOUR = timedelta(hours=1)  # today's spans: whole hours of UTC from the day's first instant
SLICE = timedelta(minutes=5)  # the current hour's spans: an hour holds twelve


@dataclass(slots=True)
class DayFigures:
    """What a day (or a month: days added) counted for one site."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    whatsapp: int = 0  # of ``sent``
    fallback: int = 0  # of ``sent``: by SMS for a participant on WhatsApp
    # visit reminders sent, by lateness in tenths of a second
    lateness: Counter[int] = field(default_factory=Counter)

    def add(self, other: DayFigures) -> None:
        self.sent += other.sent
        self.delivered += other.delivered
        self.failed += other.failed
        self.whatsapp += other.whatsapp
        self.fallback += other.fallback
        self.lateness.update(other.lateness)


@dataclass(slots=True)
class SiteMonths:
    this: DayFigures = field(default_factory=DayFigures)
    last: DayFigures = field(default_factory=DayFigures)


@dataclass(frozen=True, slots=True)
class _Day:
    start: datetime
    end: datetime


def _spans(months: MonthPeriods, zone: str, now: datetime) -> tuple[list[_Day], _Day]:
    """The closed local days of last month and this month, then today's closed hours,
    then the current hour's closed five minutes; and the live rest (to this month's
    end: nothing is sent later than now). Hours are counted in UTC from the day's
    first instant, so a day of 23 or 25 hours has as many, and its last ends with it;
    an hour's five minutes, from its start."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    closed, day = [], months.last.month
    start = first_instant(day, tz)
    while day < today:
        after = day + timedelta(days=1)
        end = first_instant(after, tz)
        closed.append(_Day(start, end))
        day, start = after, end
    for step in (HOUR, SLICE):
        while start + step <= now:
            closed.append(_Day(start, start + step))
            start += step
    return closed, _Day(start, months.this.end)


async def _kept(
    codes: Sequence[str], closed: Sequence[_Day], since: datetime, now: datetime
) -> tuple[dict[Any, DayFigures], list[list[Any]]]:
    """Kept spans of ``codes`` from ``since``, by (site, start, end), still good at
    ``now``; and the keys of rows that are none of ``closed`` (hours of a day that
    has closed since, or kept under another clock) to delete."""
    marks = ", ".join("?" for _ in codes)
    rows = await _sql.fetch(
        "SELECT site_id, starts_at, ends_at, computed_at, sent, delivered, failed, whatsapp,"  # noqa: S608
        f" fallback, lateness FROM sms_day WHERE site_id IN ({marks}) AND starts_at >= ?",
        [*codes, since],
    )
    spans = {(d.start, d.end) for d in closed}
    kept, stale = {}, []
    for row in rows:
        start, end = _sql.as_instant(row["starts_at"]), _sql.as_instant(row["ends_at"])
        if (start, end) not in spans:
            stale.append([row["site_id"], row["starts_at"]])
            continue
        computed = _sql.as_instant(row["computed_at"])
        if computed < end + SETTLING and computed < now - RECOUNT:
            continue  # counted while the span was still settling: count it again
        lateness = json.loads(row["lateness"])
        if not isinstance(lateness, dict):
            continue  # kept by an earlier build in another form: count it again
        kept[(str(row["site_id"]), start, end)] = DayFigures(
            int(row["sent"]),
            int(row["delivered"]),
            int(row["failed"]),
            int(row["whatsapp"]),
            int(row["fallback"]),
            Counter({int(tenths): int(n) for tenths, n in lateness.items()}),
        )
    return kept, stale


def _day_number(column: str, days: Sequence[_Day]) -> tuple[str, list[Any], list[Any]]:
    """Which of ``days`` holds ``o.{column}`` (NULL for none), and the one range of
    the column that covers them all, with their parameters. One range with literal
    bounds lets each database read just that range of its index; a join to the days
    as a table of values left PostgreSQL's planner without bounds, and it read a
    month of failures through the status index (220-270 ms at 3,000 participants)."""
    whens = " ".join(f"WHEN o.{column} >= ? AND o.{column} < ? THEN {n}" for n in range(len(days)))
    number = [v for d in days for v in (d.start, d.end)]
    span = [min(d.start for d in days), max(d.end for d in days)]
    return f"CASE {whens} END", number, span


async def _count(codes: Sequence[str], days: Sequence[_Day]) -> dict[tuple[str, int], DayFigures]:
    """Each site's figures on each of ``days``, counted from its messages: three
    statements, each reading one range of a partial covering index (``CROSS JOIN``
    keeps SQLite's order: messages, then their participant). Rows of days between
    the ones asked for are read and set aside."""
    postgres = _sql.dialect().postgres
    marks = ", ".join("?" for _ in codes)
    late = (
        "EXTRACT(EPOCH FROM (o.sent_at - o.send_at))"
        if postgres
        else "(julianday(o.sent_at) - julianday(o.send_at)) * 86400.0"
    )
    tenths = "BIGINT" if postgres else "INTEGER"
    reminder = "o.kind = 'reminder' AND o.send_at IS NOT NULL"
    found: dict[tuple[str, int], DayFigures] = {}
    k, number, span = _day_number("sent_at", days)
    sent = await _sql.fetch(
        f"SELECT p.site_id AS site, {k} AS k,"  # noqa: S608
        f" CASE WHEN {reminder} THEN CAST(ROUND({late} * 10) AS {tenths}) END AS tenths,"
        " COUNT(*) AS sent,"
        " SUM(CASE WHEN o.channel = 'whatsapp' THEN 1 ELSE 0 END) AS whatsapp,"
        " SUM(CASE WHEN o.fallback_reason IS NOT NULL THEN 1 ELSE 0 END) AS fallback"
        " FROM outbound_message o CROSS JOIN participant p"
        " WHERE o.sent_at >= ? AND o.sent_at < ? AND p.id = o.participant_id"
        f" AND p.site_id IN ({marks}) GROUP BY 1, 2, 3",
        [*number, *span, *codes],
    )
    for row in sent:  # a row per day and lateness (to the tenth of a second)
        if row["k"] is None:
            continue
        day = found.setdefault((str(row["site"]), int(row["k"])), DayFigures())
        day.sent += int(row["sent"])
        day.whatsapp += int(row["whatsapp"])
        day.fallback += int(row["fallback"])
        if row["tenths"] is not None:
            day.lateness[int(row["tenths"])] += int(row["sent"])
    for name, column in (("delivered", "delivered_at"), ("failed", "updated_at")):
        k, number, span = _day_number(column, days)
        rows = await _sql.fetch(
            f"SELECT p.site_id AS site, {k} AS k, COUNT(*) AS n"  # noqa: S608
            " FROM outbound_message o CROSS JOIN participant p"
            f" WHERE o.status = '{name}' AND o.{column} >= ? AND o.{column} < ?"
            f" AND p.id = o.participant_id AND p.site_id IN ({marks}) GROUP BY 1, 2",
            [*number, *span, *codes],
        )
        for row in rows:
            if row["k"] is not None:
                day = found.setdefault((str(row["site"]), int(row["k"])), DayFigures())
                setattr(day, name, int(row["n"]))
    return found


_KEEP = (
    "INSERT INTO sms_day (site_id, starts_at, ends_at, computed_at, sent, delivered, failed,"
    " whatsapp, fallback, lateness) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (site_id, starts_at) DO UPDATE SET ends_at = excluded.ends_at,"
    " computed_at = excluded.computed_at, sent = excluded.sent,"
    " delivered = excluded.delivered, failed = excluded.failed,"
    " whatsapp = excluded.whatsapp, fallback = excluded.fallback,"
    " lateness = excluded.lateness"
)


async def sms_months(
    zone: str, months: MonthPeriods, codes: Sequence[str], now: datetime
) -> dict[str, SiteMonths]:
    """This month's and last month's SMS figures of ``codes`` (sites of one time
    zone): kept spans, the spans missing counted and kept, the current hour counted.
    One read, the counting (three statements), and the writes when spans were
    missing."""
    if not codes:
        return {}
    closed, live = _spans(months, zone, now)
    kept, stale = await _kept(codes, closed, months.last.start, now)
    missing = [d for d in closed if any((c, d.start, d.end) not in kept for c in codes)]
    counted = await _count(codes, [*missing, live])
    if stale:  # first: a day's row takes its first hour's key, an hour's its first slice's
        await _sql.execute_many("DELETE FROM sms_day WHERE site_id = ? AND starts_at = ?", stale)
    keep = []
    for n, day in enumerate(missing):
        for code in codes:
            figures = counted.get((code, n), DayFigures())
            kept[(code, day.start, day.end)] = figures
            keep.append(_row(code, day, now, figures))
    if keep:
        await _sql.execute_many(_KEEP, keep)
    if stale or any(d.end - d.start > HOUR for d in missing):  # spans that left last month
        marks = ", ".join("?" for _ in codes)
        await _sql.execute(
            f"DELETE FROM sms_day WHERE site_id IN ({marks}) AND starts_at < ?",  # noqa: S608
            [*codes, months.last.start],
        )
    found = {code: SiteMonths() for code in codes}
    for code in codes:
        for day in closed:
            month = found[code].this if day.start >= months.this.start else found[code].last
            month.add(kept[(code, day.start, day.end)])
        found[code].this.add(counted.get((code, len(missing)), DayFigures()))
    return found


def _row(code: str, day: _Day, now: datetime, f: DayFigures) -> list[Any]:
    lateness = json.dumps({str(tenths): n for tenths, n in sorted(f.lateness.items())})
    return [
        code,
        day.start,
        day.end,
        now,
        f.sent,
        f.delivered,
        f.failed,
        f.whatsapp,
        f.fallback,
        lateness,
    ]
