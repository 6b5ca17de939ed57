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
from service.domain.adherence import CheckinAnswer, MonthPeriods
from service.domain.calendar import VisitOutcome as Outcome

__all__ = [
    "ALERTS",
    "INBOX",
    "AlertFact",
    "InboxFact",
    "ItemCounts",
    "LatenessFact",
    "ParticipantFact",
    "Scope",
    "SiteFact",
    "checkin_answers",
    "inbox_open_and_recent",
    "item_counts",
    "open_alert_ids",
    "open_alerts_and_recent",
    "participant_facts",
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
class LatenessFact:
    """How many visit reminders were sent, and their lateness in seconds at the 50th
    and 95th percentile by nearest rank (``adherence.nearest_rank``)."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """Alerts or inbox items of a site: open now (and the oldest), and how many were
    raised or created this month and last month."""

    open: int = 0
    oldest: datetime | None = None
    this: int = 0
    last: int = 0


# (kind kept in dashboard_site_open, table, the instant an item is counted at)
ALERTS, INBOX = ("alert", "alert", "raised_at"), ("inbox", "inbox_item", "created_at")


async def item_counts(
    kind: tuple[str, str, str],
    codes: Sequence[str],
    months: MonthPeriods,
    *,
    no_site: bool = False,
) -> dict[str | None, ItemCounts]:
    """Per site of ``codes`` (and, with ``no_site``, for the items of no site, under
    None): the open items and their oldest, and those of each month, in one statement
    that reads no more rows as open items pile up (decision 0128): their count kept by
    triggers, the oldest by one seek a site; the two months' items (the only rows it
    counts) by a range of the site's index."""
    name, table, at = kind
    marks = ", ".join("?" for _ in codes) or "NULL"
    this, last = months.this, months.last
    nowhere = (
        f" UNION ALL SELECT NULL, o.k, (SELECT MIN(t.{at}) FROM {table} t"  # noqa: S608
        " WHERE t.site_id IS NULL AND t.status = 'open'), 0, 0"
        f" FROM dashboard_site_open o WHERE o.kind = '{name}' AND o.site_id = '' AND o.k > 0"
        f" UNION ALL SELECT NULL, 0, NULL, {_in_month(at)}, {_in_month(at)}"
        f" FROM {table} WHERE site_id IS NULL AND {at} >= ?"
    )
    rows = await _sql.fetch(
        "SELECT site, SUM(n) AS n, MIN(oldest) AS oldest, SUM(this) AS this,"  # noqa: S608
        " SUM(last) AS last FROM ("
        f"SELECT o.site_id AS site, o.k AS n, (SELECT MIN(t.{at}) FROM {table} t"
        " WHERE t.site_id = o.site_id AND t.status = 'open') AS oldest, 0 AS this, 0 AS last"
        f" FROM dashboard_site_open o WHERE o.kind = '{name}' AND o.site_id IN ({marks})"
        " AND o.k > 0"
        f" UNION ALL SELECT site_id, 0, NULL, {_in_month(at)},"
        f" {_in_month(at)} FROM {table} WHERE site_id IN ({marks}) AND {at} >= ?"
        f" GROUP BY site_id{nowhere if no_site else ''}) x GROUP BY site",
        [
            *codes,
            this.start,
            this.end,
            last.start,
            last.end,
            *codes,
            last.start,
            *([this.start, this.end, last.start, last.end, last.start] if no_site else []),
        ],
    )
    return {
        None if r["site"] is None else str(r["site"]): ItemCounts(
            int(r["n"] or 0),
            None if r["oldest"] is None else _sql.as_instant(r["oldest"]),
            int(r["this"] or 0),
            int(r["last"] or 0),
        )
        for r in rows
    }


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


def _in_month(at: str) -> str:
    """Items whose ``at`` falls in a month (two parameters: its start and end)."""
    return f"SUM(CASE WHEN {at} >= ? AND {at} < ? THEN 1 ELSE 0 END)"


def scope_of(all_sites: bool, sites: Sequence[str]) -> Scope:
    return None if all_sites else tuple(sites)
