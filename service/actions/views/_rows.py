"""One row per participant for the dashboard: visit states, check-in completion, flags.

Read-only. Three statements (participants, outcomes, answers) and one more for the
open alerts, however many participants: every figure is computed here from those
rows with the domain's definitions (service/domain/adherence.py), never with a query
per participant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from service.actions.views import _queries as q
from service.domain.actors import Actor
from service.domain.adherence import (
    SETTLED,
    CheckinAnswer,
    CheckinCompletion,
    VisitCell,
    checkin_completion,
    expected_occurrences,
    rate,
    visit_cells,
)
from service.domain.calendar import CalendarVisit, VisitOutcome, VisitStatus, build_calendar
from service.domain.checkin_schedule import CheckinOccurrence, checkin_occurrences
from service.domain.protocol import Protocol
from service.domain.reminders import parse_hhmm
from service.runtime import Runtime

__all__ = [
    "Flag",
    "ParticipantRow",
    "participant_rows",
    "scope_for",
    "worst_first",
]


class Flag(StrEnum):
    OPTED_OUT = "opted_out"
    BLOCKED = "blocked"
    PAUSED = "paused"
    OVERDUE = "overdue"  # a visit's window closed with nothing recorded
    OPEN_ALERT = "open_alert"


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    fact: q.ParticipantFact
    cells: list[VisitCell]
    expected: list[CheckinOccurrence]  # prompts whose window closed, in order
    checkins: CheckinCompletion
    flags: frozenset[Flag]
    answers: dict[str, CheckinAnswer]

    @property
    def study_id(self) -> str:
        return self.fact.study_id

    @property
    def visits_settled(self) -> int:
        return sum(1 for cell in self.cells if cell.state in SETTLED)

    @property
    def visits_in_window(self) -> int:
        return sum(1 for c in self.cells if c.state == VisitStatus.ATTENDED_IN_WINDOW.value)

    @property
    def visit_rate(self) -> float | None:
        return rate(self.visits_in_window, self.visits_settled)


def scope_for(actor: Actor) -> q.Scope:
    return q.scope_of(actor.all_sites, actor.sites)


def worst_first(row: ParticipantRow) -> tuple[float, float, str]:
    """Lowest check-in completion first, then lowest visit adherence; nothing
    expected yet sorts last (nobody to call about)."""
    checkin = row.checkins.rate
    visits = row.visit_rate
    return (2.0 if checkin is None else checkin, 2.0 if visits is None else visits, row.study_id)


def _ended_on(fact: q.ParticipantFact) -> datetime | None:
    return None if fact.active else (fact.withdrawn_at or fact.updated_at)


_Schedule = tuple[tuple[CalendarVisit, ...], tuple[CheckinOccurrence, ...]]
_CACHE_LIMIT = 50_000
# Calendar and prompts per distinct set of inputs, kept across requests: they change
# only when an anchor does, and computing them is most of a page's cost. The key holds
# the protocol and holiday predicate by identity and the entry keeps them alive, so an
# id can never be reused for another protocol while its entries exist.
_SCHEDULES: dict[tuple[object, ...], tuple[Protocol, object, _Schedule]] = {}


def _schedule(
    protocol: Protocol, non_working: Callable[[date], bool], fact: q.ParticipantFact
) -> _Schedule:
    return schedule_of(
        protocol,
        non_working,
        Anchors(
            fact.baseline,
            fact.second_infusion,
            fact.can_become_pregnant,
            fact.timezone,
            fact.preferred_time,
        ),
    )


@dataclass(frozen=True, slots=True)
class Anchors:
    """Everything of a participant a calendar and a check-in schedule depend on."""

    baseline: date
    second_infusion: date | None
    can_become_pregnant: bool
    timezone: str
    preferred_time: str | None


def schedule_of(
    protocol: Protocol, non_working: Callable[[date], bool], anchors: Anchors
) -> _Schedule:
    """The calendar and every prompt (in the order their windows close) for ``anchors``."""
    key = (id(protocol), id(non_working), anchors)
    hit = _SCHEDULES.get(key)
    if hit is not None:
        return hit[2]
    calendar = build_calendar(protocol, anchors.baseline, anchors.second_infusion, non_working)
    prompts = checkin_occurrences(
        protocol.checkins,
        baseline=anchors.baseline,
        second_infusion=anchors.second_infusion,
        follow_up_end=max(visit.window_end for visit in calendar),
        can_become_pregnant=anchors.can_become_pregnant,
        timezone=anchors.timezone,
        quiet=protocol.quiet_hours,
        preferred_time=parse_hhmm(anchors.preferred_time),
    )
    if len(_SCHEDULES) >= _CACHE_LIMIT:
        _SCHEDULES.clear()
    # In the order their windows close, as expected_occurrences gives them.
    value = (tuple(calendar), tuple(sorted(prompts, key=lambda o: (o.expires_at, o.key))))
    _SCHEDULES[key] = (protocol, non_working, value)
    return value


def build_rows(
    rt: Runtime,
    facts: Iterable[q.ParticipantFact],
    outcomes: dict[int, dict[str, VisitOutcome]],
    answers: dict[int, dict[str, CheckinAnswer]],
    open_alert_ids: frozenset[int],
) -> list[ParticipantRow]:
    now = rt.clock.now()
    rows = []
    for fact in facts:
        tz = ZoneInfo(fact.timezone)
        ended = _ended_on(fact)
        calendar, prompts = _schedule(rt.protocol, rt.non_working, fact)
        mine = outcomes.get(fact.id, {})
        cells = visit_cells(
            calendar,
            mine,
            now.astimezone(tz).date(),
            ended.astimezone(tz).date() if ended else None,
        )
        until = now if ended is None else min(now, ended)
        expected = expected_occurrences(prompts, enrolled_at=fact.created_at, until=until)
        given = answers.get(fact.id, {})
        flags = {
            flag
            for flag, on in (
                (Flag.OPTED_OUT, fact.opted_out),
                (Flag.BLOCKED, fact.sms_blocked_code is not None),
                (Flag.PAUSED, fact.paused),
                (
                    Flag.OVERDUE,
                    any(c.state == "missed" and c.code not in mine for c in cells),
                ),
                (Flag.OPEN_ALERT, fact.id in open_alert_ids),
            )
            if on
        }
        rows.append(
            ParticipantRow(
                fact=fact,
                cells=cells,
                expected=expected,
                checkins=checkin_completion(expected, given),
                flags=frozenset(flags),
                answers=given,
            )
        )
    return rows


async def participant_rows(
    rt: Runtime, actor: Actor, *, site: str | None = None, status: str | None = None
) -> list[ParticipantRow]:
    """Every participant the actor may see (optionally one site / status), worst first."""
    scope = scope_for(actor)
    facts = await q.participant_facts(scope, site=site, status=status)
    outcomes = await q.visit_outcomes(scope, site=site)
    answers = await q.checkin_answers(scope, site=site)
    alerts = await q.open_alerts_and_recent(scope, rt.clock.now())
    open_ids = frozenset(a.participant_id for a in alerts if a.status == "open")
    rows = build_rows(rt, facts, outcomes, answers, open_ids)
    return sorted(rows, key=worst_first)
