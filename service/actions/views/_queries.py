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

from tortoise import connections
from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count

from service.db.models import (
    Alert,
    Checkin,
    InboxItem,
    OutboundMessage,
    Participant,
    Site,
    VisitOutcome,
)
from service.domain.adherence import CheckinAnswer
from service.domain.calendar import VisitOutcome as Outcome

__all__ = [
    "AlertFact",
    "InboxFact",
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
    failed in it, counted by the database. Two statements, each on an index: what was
    sent (``sent_at``), and what failed (``status``; a failure may never have been sent)."""
    if not codes or not windows:
        return {}
    since = min(w.start for w in windows)
    sent: dict[str, Count] = {}
    failed: dict[str, Count] = {}
    for n, w in enumerate(windows):
        sent[f"sent_{n}"] = Count("id", _filter=Q(sent_at__gte=w.start, sent_at__lt=w.end))
        sent[f"whatsapp_{n}"] = Count(
            "id", _filter=Q(channel="whatsapp", sent_at__gte=w.start, sent_at__lt=w.end)
        )
        sent[f"fallback_{n}"] = Count(
            "id",
            _filter=Q(fallback_reason__isnull=False, sent_at__gte=w.start, sent_at__lt=w.end),
        )
        sent[f"delivered_{n}"] = Count(
            "id", _filter=Q(status="delivered", delivered_at__gte=w.start, delivered_at__lt=w.end)
        )
        failed[f"failed_{n}"] = Count(
            "id", _filter=Q(updated_at__gte=w.start, updated_at__lt=w.end)
        )
    rows: dict[str, dict[str, Any]] = {}
    for where, counts in (
        (Q(sent_at__gte=since), sent),
        (Q(status="failed", updated_at__gte=since), failed),
    ):
        query = (
            OutboundMessage.filter(where, participant__site_id__in=list(codes))
            .annotate(**counts)
            .group_by("participant__site_id")
            .values("participant__site_id", *counts)
        )
        for row in await query:
            rows.setdefault(str(row["participant__site_id"]), {}).update(row)
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


def _lateness_sql() -> RawSQL:
    """Sent minus planned, in seconds, computed by the database (no timestamps to
    parse in Python for thousands of rows)."""
    if connections.get("default").capabilities.dialect == "postgres":
        return RawSQL("EXTRACT(EPOCH FROM (sent_at - send_at))")
    return RawSQL("(julianday(sent_at) - julianday(send_at)) * 86400.0")


async def reminder_lateness(codes: Sequence[str], window: Window) -> dict[str, list[float]]:
    """Per site: seconds late of every visit reminder sent in ``window``."""
    if not codes:
        return {}
    rows = (
        await OutboundMessage.filter(
            kind="reminder",
            sent_at__gte=window.start,
            sent_at__lt=window.end,
            participant__site_id__in=list(codes),
        )
        .annotate(late_seconds=_lateness_sql())
        .values_list("participant__site_id", "late_seconds")
    )
    found: dict[str, list[float]] = {}
    for site, late in rows:
        if late is not None:
            found.setdefault(str(site), []).append(float(late))
    return found


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
