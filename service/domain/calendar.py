"""A participant's visit calendar, computed from the protocol and two anchor dates.

Rules (each one a decision the study team can rely on):

* **Local dates only.** Every value here is a calendar date in the participant's own
  zone; there are no times, so daylight-saving changes (America/Santiago moves its
  clocks at midnight, so some local midnights do not exist) cannot move a visit by a
  day. Turning a date plus a wall-clock hour into UTC is the reminder planner's job.
* **Month end clamps.** ``n`` months after day ``d`` is day ``d`` of the target month,
  or that month's last day when it is shorter: 31 Jan + 1 month is 28 Feb (29 in a leap
  year), never 3 March; 31 Aug + 6 months is 28/29 Feb. Month offsets are always taken
  from the anchor itself, never chained from the previous visit, so clamping never
  accumulates (M5 is baseline + 5 months, not M4 + 1 month).
* **Two anchors, re-anchoring.** Visits anchored on ``baseline_infusion`` count from the
  baseline date and never move. Visits anchored on ``second_infusion`` count from the
  *actual* second-infusion date once it is recorded, and until then from the planned
  (possibly shifted) target of the visit marked ``anchors_second_infusion``. Recording
  a late or early second infusion therefore moves every later visit, and nothing else.
  That visit's own ``target_date`` becomes the actual date while its window stays
  around the plan, so an infusion given outside its window shows as such.
* **Windows** are closed ranges (both ends included) around the *unshifted* target:
  moving a visit off a holiday never widens or slides its window.
* **Shifting off non-working days** (only for visits with ``shift_off_working_days``):
  a target on a weekend or a holiday moves to the nearest working day inside its
  window. On a tie the earlier day wins: the visit then keeps the rest of its window
  as slack should the participant need to postpone. With no working day in the window
  the target stays where it is (``shifted`` is false) and the site decides.
* **Order.** Visits come in protocol-file order, which the study team keeps
  chronological; a recorded infusion never reorders the list.

Holidays are not known here (``service/domain`` imports no holiday library): the caller
passes them, e.g. ``weekend_or(chilean_holidays)`` from an adapter.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from service.domain.protocol import (
    Anchor,
    Offset,
    OffsetUnit,
    Protocol,
    VisitDefinition,
    VisitKind,
)

__all__ = [
    "CalendarVisit",
    "NonWorking",
    "RecordedOutcome",
    "VisitOutcome",
    "VisitStatus",
    "add_months",
    "apply_offset",
    "build_calendar",
    "visit_status",
    "weekend_or",
]

NonWorking = Callable[[date], bool]
_SATURDAY = 5


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` (negative allowed), clamped to the end of the target month."""
    years, month_index = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month_index + 1
    last_day = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


def apply_offset(anchor: date, offset: Offset) -> date:
    """The date ``offset`` away from ``anchor`` (months clamp, see :func:`add_months`)."""
    if offset.unit == OffsetUnit.MONTHS:
        return add_months(anchor, offset.amount)
    days = offset.amount * 7 if offset.unit == OffsetUnit.WEEKS else offset.amount
    return anchor + timedelta(days=days)


def weekend_or(holiday_dates: frozenset[date]) -> NonWorking:
    """A ``non_working`` predicate: Saturdays, Sundays and the given holidays."""

    def non_working(d: date) -> bool:
        return d.weekday() >= _SATURDAY or d in holiday_dates

    return non_working


@dataclass(frozen=True, slots=True)
class CalendarVisit:
    """One visit placed on the calendar; ``window_start``..``window_end`` both included."""

    code: str
    name_key: str
    kind: VisitKind
    anchor: Anchor
    anchor_date: date
    target_date: date
    window_start: date
    window_end: date
    shifted: bool  # target moved off a non-working day

    def in_window(self, d: date) -> bool:
        return self.window_start <= d <= self.window_end


def build_calendar(
    protocol: Protocol,
    baseline: date,
    second_infusion_actual: date | None,
    non_working: NonWorking | frozenset[date] | None = None,
) -> list[CalendarVisit]:
    """Every visit of ``protocol`` for one participant, in protocol order.

    ``non_working`` is a predicate (use :func:`weekend_or`, it must cover weekends
    itself), a set of holiday dates (weekends are added), or ``None`` (weekends only).
    """
    is_non_working = _as_predicate(non_working)
    second_def = protocol.second_infusion_visit
    planned_second = _place(second_def, baseline, is_non_working)
    second_anchor = second_infusion_actual or planned_second.target_date
    calendar: list[CalendarVisit] = []
    for visit in protocol.visits:
        if visit.anchors_second_infusion:
            placed = planned_second
            if second_infusion_actual is not None:
                placed = _replace_target(placed, second_infusion_actual)
        else:
            anchor_date = baseline if visit.anchor == Anchor.BASELINE_INFUSION else second_anchor
            placed = _place(visit, anchor_date, is_non_working)
        calendar.append(placed)
    return calendar


def _as_predicate(non_working: NonWorking | frozenset[date] | None) -> NonWorking:
    if non_working is None:
        return weekend_or(frozenset())
    if isinstance(non_working, frozenset):
        return weekend_or(non_working)
    return non_working


def _place(visit: VisitDefinition, anchor_date: date, non_working: NonWorking) -> CalendarVisit:
    target = apply_offset(anchor_date, visit.offset)
    start = target - timedelta(days=visit.window_before_days)
    end = target + timedelta(days=visit.window_after_days)
    moved = target
    if visit.shift_off_working_days and non_working(target):
        moved = _nearest_working_day(target, start, end, non_working) or target
    return CalendarVisit(
        code=visit.code,
        name_key=visit.name_key,
        kind=visit.kind,
        anchor=visit.anchor,
        anchor_date=anchor_date,
        target_date=moved,
        window_start=start,
        window_end=end,
        shifted=moved != target,
    )


def _nearest_working_day(
    target: date, start: date, end: date, non_working: NonWorking
) -> date | None:
    """Earlier candidate first at each distance, so ties go to the earlier day."""
    for distance in range(1, max((target - start).days, (end - target).days) + 1):
        for candidate in (target - timedelta(days=distance), target + timedelta(days=distance)):
            if start <= candidate <= end and not non_working(candidate):
                return candidate
    return None


def _replace_target(visit: CalendarVisit, actual: date) -> CalendarVisit:
    return CalendarVisit(
        code=visit.code,
        name_key=visit.name_key,
        kind=visit.kind,
        anchor=visit.anchor,
        anchor_date=visit.anchor_date,
        target_date=actual,
        window_start=visit.window_start,
        window_end=visit.window_end,
        shifted=False,
    )


class VisitStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"  # today inside the window, nothing recorded yet
    ATTENDED_IN_WINDOW = "attended_in_window"
    ATTENDED_OUT_OF_WINDOW = "attended_out_of_window"
    MISSED = "missed"  # recorded as missed, or the window closed with nothing recorded
    # Never computed here: actions/calendars shows a visit the participant withdrew
    # before as cancelled.
    CANCELLED = "cancelled"


class RecordedOutcome(StrEnum):
    """What staff record about a visit (``VisitOutcome`` rows); the calendar turns it,
    with the window, into a :class:`VisitStatus`."""

    ATTENDED = "attended"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class VisitOutcome:
    """What the site recorded for a visit (the recorded second infusion included)."""

    status: RecordedOutcome | Literal["attended", "missed"]
    date: date

    def __post_init__(self) -> None:
        if self.status not in tuple(RecordedOutcome):
            raise ValueError(f'status must be "attended" or "missed", got {self.status!r}')


def visit_status(visit: CalendarVisit, outcome: VisitOutcome | None, today: date) -> VisitStatus:
    """A recorded outcome wins over the clock; ``today`` is the participant's local date."""
    if outcome is not None:
        if outcome.status == RecordedOutcome.MISSED:
            return VisitStatus.MISSED
        if visit.in_window(outcome.date):
            return VisitStatus.ATTENDED_IN_WINDOW
        return VisitStatus.ATTENDED_OUT_OF_WINDOW
    if today < visit.window_start:
        return VisitStatus.UPCOMING
    if today <= visit.window_end:
        return VisitStatus.DUE
    return VisitStatus.MISSED
