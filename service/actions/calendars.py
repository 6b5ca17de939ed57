"""A participant's calendar as the API shows it: protocol + anchors + outcomes + today."""

from __future__ import annotations

from dataclasses import dataclass

from service.actions.access import local_today
from service.db.models import Participant, VisitOutcome
from service.domain.calendar import (
    CalendarVisit,
    VisitStatus,
    build_calendar,
    visit_status,
)
from service.domain.calendar import (
    VisitOutcome as Outcome,
)
from service.runtime import Runtime


@dataclass(frozen=True, slots=True)
class CalendarRow:
    visit: CalendarVisit
    status: str  # a VisitStatus value, or "cancelled" after withdrawal
    outcome: Outcome | None


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
        row.visit_code: Outcome(
            status="missed" if row.status == "missed" else "attended", date=row.date
        )
        for row in rows
    }


async def calendar_with_status(rt: Runtime, participant: Participant) -> list[CalendarRow]:
    outcomes = await latest_outcomes(participant.id)
    today = local_today(rt, participant)
    rows = []
    for visit in calendar_for(rt, participant):
        outcome = outcomes.get(visit.code)
        status: str = visit_status(visit, outcome, today).value
        if not participant.active and status in (VisitStatus.UPCOMING, VisitStatus.DUE):
            status = "cancelled"
        rows.append(CalendarRow(visit=visit, status=status, outcome=outcome))
    return rows
