"""Calendars and check-in schedules copied into the database, so it can count figures.

Visit windows and prompt deadlines come from the protocol, the holidays and each
participant's anchors through the domain's own functions (build_calendar,
checkin_occurrences); the database cannot compute them. Rather than making every
writer of a participant keep a copy current, each copy is keyed by *everything it is
computed from* (the participant's anchors and a fingerprint of the protocol revision
and the holidays): a participant whose anchors change simply matches another copy,
and a new protocol revision or holiday list matches none until the next read fills
them. Participants share copies (one per distinct set of anchors).

A read fills what is missing first, in a fixed number of statements (one to find the
missing anchors, and when there are any, one per table to insert them). The tables
are derived: ``forget_schedules`` empties them, and the next read rebuilds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from service.actions.views import _sql
from service.actions.views._queries import Scope
from service.actions.views._rows import Anchors, schedule_of
from service.db.models import (
    DashboardSchedule,
    DashboardSchedulePrompt,
    DashboardScheduleVisit,
    DashboardSummary,
)
from service.domain.adherence import first_instant
from service.domain.protocol import Protocol
from service.runtime import Runtime

__all__ = [
    "GAP_EVERY_SITE",
    "MATCH",
    "fingerprint",
    "forget_schedules",
    "schedule_key",
    "scope_sql",
    "sync_schedules",
]

# The holidays are a predicate; they are read on every weekday of this span once per
# runtime to fingerprint them (a visit window outside it is not a trial's).
_HOLIDAY_SPAN = (date(2000, 1, 1), date(2069, 12, 31))
_FINGERPRINTS: dict[tuple[int, int], tuple[Protocol, object, str]] = {}

# The key of participant ``p``'s copy (fingerprint as the parameter), as schedule_key
# spells it: one equality to join on, which the planner estimates well (matching the
# six columns one by one, PostgreSQL expected one participant and chose nested loops).
MATCH = "s.key = {participant_key}"

# Every site may now have participants without a summary row (``_summary``).
GAP_EVERY_SITE = "INSERT INTO dashboard_summary_gap (site_id) SELECT code FROM site"


def fingerprint(protocol: Protocol, non_working: Callable[[date], bool]) -> str:
    """Protocol revision and holidays, hashed: what every copy was computed with."""
    key = (id(protocol), id(non_working))
    hit = _FINGERPRINTS.get(key)
    if hit is not None:
        return hit[2]
    day, last = _HOLIDAY_SPAN
    holidays = []
    while day <= last:
        if day.weekday() < 5 and non_working(day):
            holidays.append(day.isoformat())
        day += timedelta(days=1)
    text = "\n".join([protocol.revision, *holidays])
    value = hashlib.sha256(text.encode()).hexdigest()[:32]
    _FINGERPRINTS[key] = (protocol, non_working, value)
    return value


def schedule_key(fp: str, a: Anchors) -> str:
    return "|".join(
        [
            fp,
            a.baseline.isoformat(),
            a.second_infusion.isoformat() if a.second_infusion else "",
            "1" if a.can_become_pregnant else "0",
            a.timezone,
            a.preferred_time or "",
        ]
    )


def scope_sql(
    scope: Scope, site: str | None = None, *, column: str = "p.site_id"
) -> tuple[str, list[str]]:
    """``p``'s sites (or ``column``'s) as SQL (``TRUE`` for every site) and its
    parameters."""
    parts: list[str] = ["1 = 1"]
    params: list[str] = []
    if scope is not None:
        parts.append(f"{column} IN ({', '.join('?' for _ in scope) or 'NULL'})")
        params.extend(scope)
    if site is not None:
        parts.append(f"{column} = ?")
        params.append(site)
    return " AND ".join(parts), params


_MISSING = """
SELECT DISTINCT p.baseline_infusion_date AS baseline, p.second_infusion_date AS second,
       p.can_become_pregnant AS pregnant, p.timezone AS timezone,
       p.preferred_time AS preferred_time
FROM participant p
WHERE {where} AND NOT EXISTS (SELECT 1 FROM dashboard_schedule s WHERE {match})
"""


async def sync_schedules(
    rt: Runtime, scope: Scope, *, unsummarized: bool = False, sites: Sequence[str] = ()
) -> str:
    """Copy the schedules of ``scope``'s participants that are not copied yet; the
    fingerprint the figures must match. ``unsummarized``: only of participants with
    no dashboard summary row, right after the stale rows were deleted (a participant
    whose anchors or fingerprint changed has none then; see ``_summary``). ``sites``:
    only of these sites' participants (the sites that may lack rows)."""
    fp = fingerprint(rt.protocol, rt.non_working)
    where, params = scope_sql(scope)
    if sites:
        where += f" AND p.site_id IN ({', '.join('?' for _ in sites)})"
        params = [*params, *sites]
    if unsummarized:
        where += " AND NOT EXISTS (SELECT 1 FROM dashboard_summary d WHERE d.participant_id = p.id)"
    rows = await _sql.fetch(_MISSING.format(where=where, match=MATCH), [*params, fp])
    schedules, visits, prompts = [], [], []
    for row in rows:
        second = row["second"]
        anchors = Anchors(
            _sql.as_date(row["baseline"]),
            None if second is None else _sql.as_date(second),
            bool(row["pregnant"]),
            str(row["timezone"]),
            None if row["preferred_time"] is None else str(row["preferred_time"]),
        )
        key = schedule_key(fp, anchors)
        calendar, occurrences = schedule_of(rt.protocol, rt.non_working, anchors)
        tz = ZoneInfo(anchors.timezone)
        for position, v in enumerate(calendar):
            opens = first_instant(v.window_start, tz)
            closes = first_instant(v.window_end + timedelta(days=1), tz)
            visits.append(
                (key, position, v.code, v.target_date, v.window_start, v.window_end, opens, closes)
            )
        for position, o in enumerate(occurrences):
            prompts.append((key, position, o.key, o.expires_at))
        schedules.append(
            (
                key,
                fp,
                anchors.baseline,
                anchors.second_infusion,
                anchors.can_become_pregnant,
                anchors.timezone,
                anchors.preferred_time,
            )
        )
    # Items before their schedule row: a reader that sees the row sees all of them.
    # Two reads filling the same copy at once insert it once (the keys conflict).
    await _sql.execute_many(
        "INSERT INTO dashboard_schedule_visit (schedule_key, position, code, target_date,"
        " window_start, window_end, opens_at, closes_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (schedule_key, position) DO NOTHING",
        visits,
    )
    await _sql.execute_many(
        "INSERT INTO dashboard_schedule_prompt (schedule_key, position, checkin_key,"
        " expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (schedule_key, position) DO NOTHING",
        prompts,
    )
    await _sql.execute_many(
        "INSERT INTO dashboard_schedule (key, fingerprint, baseline, second_infusion,"
        " can_become_pregnant, timezone, preferred_time) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        schedules,
    )
    return fp


async def forget_schedules() -> None:
    """Empty the copies and the summary rows counted from them (the rebuild path: the
    next read of each scope refills them)."""
    await DashboardSummary.all().delete()
    await _sql.execute(GAP_EVERY_SITE, [])
    await DashboardSchedule.all().delete()
    await DashboardScheduleVisit.all().delete()
    await DashboardSchedulePrompt.all().delete()
