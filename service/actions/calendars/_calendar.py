"""A participant's calendar as the API shows it: protocol + anchors + outcomes + today."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from service.db.models import AuditEntry, Participant, VisitOutcome
from service.domain.calendar import (
    CalendarVisit,
    RecordedOutcome,
    VisitStatus,
    build_calendar,
    visit_status,
)
from service.domain.calendar import (
    VisitOutcome as Outcome,
)
from service.domain.calendar_sequence import event_sequences
from service.domain.states import AuditAction
from service.runtime import Runtime


@dataclass(frozen=True, slots=True)
class CalendarRow:
    visit: CalendarVisit
    status: VisitStatus
    outcome: Outcome | None


def local_today(rt: Runtime, participant: Participant) -> date:
    """Today's date where the participant lives."""
    return rt.clock.now().astimezone(ZoneInfo(participant.timezone)).date()


def calendar_for(rt: Runtime, participant: Participant) -> list[CalendarVisit]:
    return build_calendar(
        rt.protocol,
        participant.baseline_infusion_date,
        participant.second_infusion_date,
        rt.non_working,
    )


async def latest_outcomes(participant_id: int) -> dict[str, Outcome]:
    """Newest recorded outcome per visit; older rows stay as history."""
    rows = await VisitOutcome.filter(participant_id=participant_id).order_by("recorded_at", "id")
    return {
        row.visit_code: Outcome(status=RecordedOutcome(row.status), date=row.date) for row in rows
    }


async def latest_outcomes_of(participant_ids: list[int]) -> dict[int, dict[str, Outcome]]:
    """:func:`latest_outcomes` of many participants in one statement (batch re-planning)."""
    found: dict[int, dict[str, Outcome]] = {pid: {} for pid in participant_ids}
    if not participant_ids:
        return found
    rows = (
        await VisitOutcome.filter(participant_id__in=participant_ids)
        .order_by("recorded_at", "id")
        .values_list("participant_id", "visit_code", "status", "date")
    )
    for pid, code, status, day in rows:
        found[int(pid)][str(code)] = Outcome(status=RecordedOutcome(str(status)), date=day)
    return found


def _withdrawn_on(participant: Participant) -> date | None:
    if participant.active:
        return None
    moment = participant.withdrawn_at or participant.updated_at
    return moment.astimezone(ZoneInfo(participant.timezone)).date()


def _cancelled(visit: CalendarVisit, outcome: Outcome | None, withdrawn_on: date | None) -> bool:
    """Withdrawal cancels what was still ahead *on the day of withdrawal*, for good
    (judged by today's date, a cancelled visit would turn "missed" once its window
    passed, and calendar apps would show it confirmed again)."""
    if withdrawn_on is None:
        return False
    return visit_status(visit, outcome, withdrawn_on) in (VisitStatus.UPCOMING, VisitStatus.DUE)


async def calendar_with_status(rt: Runtime, participant: Participant) -> list[CalendarRow]:
    outcomes = await latest_outcomes(participant.id)
    today = local_today(rt, participant)
    withdrawn_on = _withdrawn_on(participant)
    rows = []
    for visit in calendar_for(rt, participant):
        outcome = outcomes.get(visit.code)
        status = visit_status(visit, outcome, today)
        if _cancelled(visit, outcome, withdrawn_on):
            status = VisitStatus.CANCELLED
        rows.append(CalendarRow(visit=visit, status=status, outcome=outcome))
    return rows


def _anchor(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


@dataclass(frozen=True, slots=True)
class _Change:
    """One recorded change to a calendar: an anchor date, an outcome or the withdrawal."""

    at: datetime
    order: int
    anchor_field: str | None = None
    anchor: date | None = None
    visit_code: str | None = None
    outcome: Outcome | None = None


async def _changes(participant: Participant, anchors: dict[str, date | None]) -> list[_Change]:
    """The participant's calendar changes, oldest first; sets ``anchors`` to the
    values before the first change (the enrolled ones)."""
    changes: list[_Change] = []
    seen: set[str] = set()
    records = AuditEntry.filter(
        entity="participant", entity_id=participant.study_id, action=AuditAction.INFUSION_RECORD
    ).order_by("at", "id")
    for record in await records:
        field = next((f for f in anchors if f in record.changes), None)
        if field is None:
            continue
        previous, new = record.changes[field]
        if field not in seen:
            anchors[field] = _anchor(previous)
            seen.add(field)
        changes.append(_Change(record.at, 0, anchor_field=field, anchor=_anchor(new)))
    outcomes = VisitOutcome.filter(participant_id=participant.id).order_by("recorded_at", "id")
    for row in await outcomes:
        outcome = Outcome(status=RecordedOutcome(row.status), date=row.date)
        changes.append(_Change(row.recorded_at, 1, visit_code=row.visit_code, outcome=outcome))
    if not participant.active and participant.withdrawn_at is not None:
        changes.append(_Change(participant.withdrawn_at, 2))
    return sorted(changes, key=lambda change: (change.at, change.order))


async def calendar_sequences(rt: Runtime, participant: Participant) -> dict[str, int]:
    """iCalendar SEQUENCE per visit code, replayed from the calendar's recorded changes
    (see :mod:`service.domain.calendar_sequence`)."""
    anchors: dict[str, date | None] = {
        "baseline_infusion_date": participant.baseline_infusion_date,
        "second_infusion_date": participant.second_infusion_date,
    }
    changes = await _changes(participant, anchors)
    outcomes: dict[str, Outcome] = {}
    withdrawn_on: date | None = None

    def version() -> dict[str, Hashable]:
        baseline = anchors["baseline_infusion_date"] or participant.baseline_infusion_date
        visits = build_calendar(
            rt.protocol, baseline, anchors["second_infusion_date"], rt.non_working
        )
        return {
            v.code: (
                v.target_date,
                v.window_start,
                v.window_end,
                outcomes.get(v.code),
                _cancelled(v, outcomes.get(v.code), withdrawn_on),
            )
            for v in visits
        }

    versions = [version()]
    for index, change in enumerate(changes):
        if change.anchor_field is not None:
            anchors[change.anchor_field] = change.anchor
        elif change.visit_code is not None and change.outcome is not None:
            outcomes[change.visit_code] = change.outcome
        else:
            withdrawn_on = _withdrawn_on(participant)
        following = changes[index + 1] if index + 1 < len(changes) else None
        if following is None or following.at != change.at:
            versions.append(version())  # one act (an infusion and its visit) is one version
    return event_sequences(versions)
