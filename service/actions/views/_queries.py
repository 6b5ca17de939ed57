"""What the dashboard reads, set-based: a fixed number of statements however many
participants a site has (dashboards that time out as data grows
are the common complaint about trial systems, and the one this answers).

Each loader is one statement over every participant in scope, returning plain
frozen values; nothing here loops over participants with a query inside. Scope is
a tuple of site codes, or ``None`` for every site (admins, monitors without a list);
other sites' rows are never read, not read and then dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q

from service.actions.views import _sql
from service.db.models import (
    Alert,
    Checkin,
    InboxItem,
    Participant,
    Site,
    VisitOutcome,
)
from service.domain.adherence import CheckinAnswer
from service.domain.calendar import VisitOutcome as Outcome

__all__ = [
    "AlertFact",
    "InboxFact",
    "LatenessFact",
    "ParticipantFact",
    "Scope",
    "SiteFact",
    "SmsCounts",
    "Window",
    "checkin_answers",
    "inbox_open_and_recent",
    "message_counts",
    "open_alert_ids",
    "open_alerts_and_recent",
    "participant_facts",
    "reminder_lateness",
    "scoped_sites",
    "visit_outcomes",
]

Scope = tuple[str, ...] | None
CHECKIN_PROMPT_PREFIX = "checkin:"  # keys of scheduled prompts (app reports are not)


@dataclass(frozen=True, slots=True)
class SiteFact:
    code: str
    name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class ParticipantFact:
    id: int
    study_id: str
    site: str
    timezone: str
    baseline: date
    second_infusion: date | None
    can_become_pregnant: bool
    preferred_time: str | None
    status: str
    withdrawn_at: datetime | None
    updated_at: datetime
    created_at: datetime
    opted_out: bool
    paused: bool
    sms_blocked_code: int | None
    channel: str = "sms"  # sms | whatsapp

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class SmsCounts:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    whatsapp: int = 0  # of ``sent``, by WhatsApp
    fallback: int = 0  # of ``sent``, by SMS for a participant on WhatsApp


@dataclass(frozen=True, slots=True)
class AlertFact:
    id: int
    site: str
    participant_id: int
    status: str
    emergency: bool
    raised_at: datetime
    escalated_at: datetime | None


@dataclass(frozen=True, slots=True)
class InboxFact:
    id: int
    site: str | None  # a message from an unknown number belongs to no site
    participant_id: int | None
    status: str
    reason: str
    created_at: datetime


def _in_scope(scope: Scope, field: str) -> Q:
    filters: dict[str, Any] = {f"{field}__in": list(scope or ())}
    return Q() if scope is None else Q(**filters)


async def scoped_sites(scope: Scope) -> list[SiteFact]:
    rows = (
        await Site.filter(_in_scope(scope, "code"))
        .order_by("code")
        .values_list("code", "name", "timezone")
    )
    return [SiteFact(str(c), str(n), str(z)) for c, n, z in rows]


_PARTICIPANT_COLUMNS = (
    "id",
    "study_id",
    "site_id",
    "timezone",
    "baseline_infusion_date",
    "second_infusion_date",
    "can_become_pregnant",
    "preferred_time",
    "status",
    "withdrawn_at",
    "updated_at",
    "created_at",
    "opted_out",
    "paused",
    "sms_blocked_code",
    "channel",
)


async def participant_facts(
    scope: Scope,
    *,
    site: str | None = None,
    status: str | None = None,
    ids: Sequence[int] | None = None,
) -> list[ParticipantFact]:
    """Every participant in scope (optionally one site / one status / these ids), by
    study id."""
    query = Participant.filter(_in_scope(scope, "site_id"))
    if ids is not None:
        query = query.filter(id__in=list(ids))
    if site is not None:
        query = query.filter(site_id=site)
    if status is not None:
        query = query.filter(status=status)
    rows: list[tuple[Any, ...]] = await query.order_by("study_id").values_list(
        *_PARTICIPANT_COLUMNS
    )
    return [ParticipantFact(*row) for row in rows]


async def visit_outcomes(
    scope: Scope, *, site: str | None = None, ids: Sequence[int] | None = None
) -> dict[int, dict[str, Outcome]]:
    """Newest recorded outcome per participant and visit (older rows are history)."""
    query = VisitOutcome.filter(_in_scope(scope, "participant__site_id"))
    if ids is not None:
        query = query.filter(participant_id__in=list(ids))
    if site is not None:
        query = query.filter(participant__site_id=site)
    rows = await query.order_by("recorded_at", "id").values_list(
        "participant_id", "visit_code", "status", "date"
    )
    found: dict[int, dict[str, Outcome]] = {}
    for pid, code, status, day in rows:
        outcome = Outcome(status="missed" if status == "missed" else "attended", date=day)
        found.setdefault(int(pid), {})[str(code)] = outcome
    return found


async def checkin_answers(
    scope: Scope, *, site: str | None = None, ids: Sequence[int] | None = None
) -> dict[int, dict[str, CheckinAnswer]]:
    """Per participant and prompt key: answered completely, and whether the first
    complete version came late (a later correction does not make it late)."""
    query = Checkin.filter(
        _in_scope(scope, "participant__site_id"),
        complete=True,
        checkin_key__startswith=CHECKIN_PROMPT_PREFIX,
    )
    if site is not None:
        query = query.filter(participant__site_id=site)
    if ids is not None:
        query = query.filter(participant_id__in=list(ids))
    rows = await query.order_by("version", "id").values_list(
        "participant_id", "checkin_key", "late"
    )
    found: dict[int, dict[str, CheckinAnswer]] = {}
    for pid, key, late in rows:
        answers = found.setdefault(int(pid), {})
        answers.setdefault(str(key), CheckinAnswer(complete=True, late=bool(late)))
    return found


@dataclass(frozen=True, slots=True)
class Window:
    """A period to count in, ``start`` included, ``end`` excluded (UTC)."""

    start: datetime
    end: datetime


async def message_counts(
    codes: Sequence[str], windows: Sequence[Window]
) -> dict[str, list[SmsCounts]]:
    """Per site of ``codes`` and per window: participant messages sent, delivered and
    failed in it, counted by the database. Two statements, each reading a range of a
    partial covering index (migration 0034; ``CROSS JOIN`` keeps SQLite from walking
    every participant's messages instead): what was sent (``sent_at``), and what
    failed (``updated_at`` of failed rows; a failure may never have been sent; the
    status is a literal so that the partial index applies)."""
    if not codes or not windows:
        return {}
    since = min(w.start for w in windows)
    sums, params = [], []
    for n, w in enumerate(windows):
        inside = "o.sent_at >= ? AND o.sent_at < ?"
        for name, extra in (
            ("sent", ""),
            ("whatsapp", " AND o.channel = 'whatsapp'"),
            ("fallback", " AND o.fallback_reason IS NOT NULL"),
        ):
            sums.append(f"SUM(CASE WHEN {inside}{extra} THEN 1 ELSE 0 END) AS {name}_{n}")
            params += [w.start, w.end]
        sums.append(
            "SUM(CASE WHEN o.status = 'delivered' AND o.delivered_at >= ?"
            f" AND o.delivered_at < ? THEN 1 ELSE 0 END) AS delivered_{n}"
        )
        params += [w.start, w.end]
    marks = ", ".join("?" for _ in codes)
    sql = (
        f"SELECT p.site_id AS site, {', '.join(sums)}"  # noqa: S608  # constants and marks
        " FROM outbound_message o CROSS JOIN participant p"
        f" WHERE p.id = o.participant_id AND o.sent_at >= ? AND p.site_id IN ({marks})"
        " GROUP BY p.site_id"
    )
    rows: dict[str, dict[str, Any]] = {
        str(row["site"]): row for row in await _sql.fetch(sql, [*params, since, *codes])
    }
    failed = [
        f"SUM(CASE WHEN o.updated_at >= ? AND o.updated_at < ? THEN 1 ELSE 0 END) AS failed_{n}"
        for n in range(len(windows))
    ]
    sql = (
        f"SELECT p.site_id AS site, {', '.join(failed)}"  # noqa: S608  # constants and marks
        " FROM outbound_message o CROSS JOIN participant p"
        " WHERE p.id = o.participant_id AND o.status = 'failed' AND o.updated_at >= ?"
        f" AND p.site_id IN ({marks}) GROUP BY p.site_id"
    )
    edges = [edge for w in windows for edge in (w.start, w.end)]
    for row in await _sql.fetch(sql, [*edges, since, *codes]):
        rows.setdefault(str(row["site"]), {}).update(row)
    return {
        site: [
            SmsCounts(
                sent=int(row.get(f"sent_{n}") or 0),
                delivered=int(row.get(f"delivered_{n}") or 0),
                failed=int(row.get(f"failed_{n}") or 0),
                whatsapp=int(row.get(f"whatsapp_{n}") or 0),
                fallback=int(row.get(f"fallback_{n}") or 0),
            )
            for n in range(len(windows))
        ]
        for site, row in rows.items()
    }


@dataclass(frozen=True, slots=True)
class LatenessFact:
    """How many visit reminders were sent, and their lateness in seconds at the 50th
    and 95th percentile by nearest rank (``adherence.nearest_rank``)."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None


def _rank(n: int, percent: int) -> int:
    """``max(1, ceil(percent / 100 * n))`` in integers (as the database computes it;
    equal to nearest_rank's float arithmetic for 50 and 95 and any count below 5
    million, checked)."""
    return max(1, (percent * n + 99) // 100)


async def reminder_lateness(
    parts: Sequence[tuple[Sequence[str], Window]],
) -> tuple[dict[str, LatenessFact], LatenessFact]:
    """Lateness of the visit reminders sent by the sites of each part in its window:
    per site, and over all of them. One statement: the database ranks the values
    (read from the covering index on ``sent_at``) and returns only those at the two
    ranks, not every value."""
    parts = [(codes, window) for codes, window in parts if codes]
    if not parts:
        return {}, LatenessFact()
    postgres = _sql.dialect().postgres
    late = (
        "EXTRACT(EPOCH FROM (o.sent_at - o.send_at))"
        if postgres
        else "(julianday(o.sent_at) - julianday(o.send_at)) * 86400.0"
    )
    selects, params = [], []
    for codes, window in parts:
        marks = ", ".join("?" for _ in codes)
        selects.append(
            f"SELECT p.site_id AS site, {late} AS late"  # noqa: S608  # constants and marks
            " FROM outbound_message o CROSS JOIN participant p"
            " WHERE p.id = o.participant_id AND o.kind = 'reminder' AND o.send_at IS NOT NULL"
            f" AND o.sent_at >= ? AND o.sent_at < ? AND p.site_id IN ({marks})"
        )
        params += [window.start, window.end, *codes]
    # Ranks per site; over all sites too when there are several (one more sort).
    several = len({code for codes, _ in parts for code in codes}) > 1
    ranks = "r.k = (50 * c.n + 99) / 100 OR r.k = (95 * c.n + 99) / 100"
    overall = (
        """
UNION ALL
SELECT NULL AS site, t.late, t.k, c.n FROM t CROSS JOIN (SELECT COUNT(*) AS n FROM l) c
WHERE t.k = (50 * c.n + 99) / 100 OR t.k = (95 * c.n + 99) / 100"""
        if several
        else ""
    )
    sql = f"""
WITH l AS ({" UNION ALL ".join(selects)}),
r AS (SELECT site, late, ROW_NUMBER() OVER (PARTITION BY site ORDER BY late) AS k FROM l),
t AS (SELECT late, ROW_NUMBER() OVER (ORDER BY late) AS k FROM l)
SELECT r.site, r.late, r.k, c.n FROM r
JOIN (SELECT site, COUNT(*) AS n FROM l GROUP BY site) c ON c.site = r.site
WHERE {ranks}{overall}"""  # noqa: S608
    per_site: dict[str | None, dict[str, Any]] = {}
    for row in await _sql.fetch(sql, params):
        site = None if row["site"] is None else str(row["site"])
        found = per_site.setdefault(site, {"count": int(row["n"])})
        for percent in (50, 95):
            if int(row["k"]) == _rank(int(row["n"]), percent):
                found[f"p{percent}"] = float(row["late"])
    facts = {site: LatenessFact(**found) for site, found in per_site.items()}
    total = facts.pop(None, LatenessFact())
    if not several:
        total = next(iter(facts.values()), LatenessFact())
    return {str(site): fact for site, fact in facts.items()}, total


async def open_alerts_and_recent(scope: Scope, since: datetime) -> list[AlertFact]:
    """Open alerts, whatever their age, and every alert raised at or after ``since``."""
    query = Alert.filter(_in_scope(scope, "site_id"), Q(status="open") | Q(raised_at__gte=since))
    rows = await query.order_by("raised_at", "id").values_list(
        "id", "site_id", "participant_id", "status", "emergency", "raised_at", "escalated_at"
    )
    return [AlertFact(*row) for row in rows]


async def open_alert_ids(scope: Scope, ids: Sequence[int]) -> frozenset[int]:
    """Which of ``ids`` have an open alert (of a site in scope)."""
    rows = await Alert.filter(
        _in_scope(scope, "site_id"), status="open", participant_id__in=list(ids)
    ).values_list("participant_id", flat=True)
    return frozenset(int(str(pid)) for pid in rows)


async def inbox_open_and_recent(scope: Scope, since: datetime) -> list[InboxFact]:
    """Open inbox items and those created at or after ``since``; items of no site
    only for an all-sites scope (as the inbox itself shows them)."""
    where = Q() if scope is None else Q(site_id__in=list(scope))
    query = InboxItem.filter(where, Q(status="open") | Q(created_at__gte=since))
    rows = await query.order_by("created_at", "id").values_list(
        "id", "site_id", "participant_id", "status", "reason", "created_at"
    )
    return [InboxFact(*row) for row in rows]


def scope_of(all_sites: bool, sites: Sequence[str]) -> Scope:
    return None if all_sites else tuple(sites)
