"""The dashboard's figures, computed: visit states, check-in completion, bands, lateness.

Definitions (docs/dashboard.md; each one a choice the coordinators can rely on):

* **Visit state** is the calendar's own :func:`~service.domain.calendar.visit_status`
  (attended in / out of window, missed = recorded missed or window closed with nothing
  recorded, due now, upcoming). **Withdrawn participants**: what was still ahead (due
  or upcoming) on the day of withdrawal is ``cancelled``, for good, exactly as the
  API's calendar shows it; visits already settled keep their state. Cancelled visits
  count in no adherence figure, so a withdrawal never turns into a run of "missed".
* **Visit adherence rate** = attended in window ÷ settled visits (attended in or out
  of window, missed); due and upcoming visits are not judged yet.
* **Check-in completion** = completed ÷ expected. *Expected* = prompts of the schedule
  whose answer window has closed, counted from enrolment (a prompt whose window had
  closed before the participant was entered was never asked) up to withdrawal (later
  prompts were cancelled). Paused or opted-out participants are still expected to
  answer (the app stays open to them): a coordinator should see them slip. A prompt
  counts as completed when any stored version of its answers is complete, and as late
  when the first complete version came after the window closed. Answers to prompts
  still open are neither expected nor completed yet, so a rate never exceeds 100 %.
* **Longest miss run**: the longest streak of consecutive expected prompts (all
  cadences together, in time order) left unanswered.
* **Bands**: under 30 % red, 30 % to under 80 % amber, 80 % and more green; no band
  when nothing is expected yet.
* **Reminder lateness** = sent minus planned, in seconds; p50/p95 by nearest rank
  (a value that actually occurred, never an interpolation).
* **Periods** are calendar months in the site's zone: from the first instant of the
  1st, local, to the first instant of the next month's 1st. America/Santiago changes
  its clocks at midnight, so a local midnight can be skipped; the first instant of
  the day is then 01:00 and the month boundary follows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from service.domain.calendar import CalendarVisit, VisitOutcome, VisitStatus, visit_status
from service.domain.checkin_schedule import CheckinOccurrence

__all__ = [
    "CANCELLED",
    "SETTLED",
    "Band",
    "CheckinAnswer",
    "CheckinCompletion",
    "MonthPeriods",
    "Period",
    "VisitCell",
    "band",
    "checkin_completion",
    "expected_occurrences",
    "first_instant",
    "month_periods",
    "nearest_rank",
    "nearest_rank_counted",
    "rate",
    "visit_cells",
]

CANCELLED = "cancelled"
SETTLED = frozenset(
    {
        VisitStatus.ATTENDED_IN_WINDOW.value,
        VisitStatus.ATTENDED_OUT_OF_WINDOW.value,
        VisitStatus.MISSED.value,
    }
)
RED_BELOW = 0.30
GREEN_FROM = 0.80


class Band(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


def rate(done: int, total: int) -> float | None:
    """``done / total``, or None when there is nothing to divide by (not 0 %, not 100 %)."""
    return done / total if total else None


def band(value: float | None) -> Band | None:
    if value is None:
        return None
    if value < RED_BELOW:
        return Band.RED
    if value < GREEN_FROM:
        return Band.AMBER
    return Band.GREEN


@dataclass(frozen=True, slots=True)
class VisitCell:
    """One participant's visit as the grid shows it."""

    code: str
    state: str  # a VisitStatus value, or "cancelled"
    target_date: date
    window_start: date
    window_end: date
    outcome_date: date | None


def visit_cells(
    calendar: Iterable[CalendarVisit],
    outcomes: dict[str, VisitOutcome],
    today: date,
    withdrawn_on: date | None,
) -> list[VisitCell]:
    """Each visit's state on ``today`` (the participant's local date), in protocol order."""
    cells = []
    for visit in calendar:
        outcome = outcomes.get(visit.code)
        state: str = visit_status(visit, outcome, today).value
        if withdrawn_on is not None and visit_status(visit, outcome, withdrawn_on) in (
            VisitStatus.UPCOMING,
            VisitStatus.DUE,
        ):
            state = CANCELLED
        cells.append(
            VisitCell(
                code=visit.code,
                state=state,
                target_date=visit.target_date,
                window_start=visit.window_start,
                window_end=visit.window_end,
                outcome_date=outcome.date if outcome else None,
            )
        )
    return cells


@dataclass(frozen=True, slots=True)
class CheckinAnswer:
    """What is stored for one check-in key: complete at all, and was the first
    complete version late."""

    complete: bool
    late: bool


@dataclass(frozen=True, slots=True)
class CheckinCompletion:
    expected: int
    completed: int
    on_time: int
    late: int
    longest_miss_run: int

    @property
    def rate(self) -> float | None:
        return rate(self.completed, self.expected)

    @property
    def band(self) -> Band | None:
        return band(self.rate)

    def __add__(self, other: CheckinCompletion) -> CheckinCompletion:
        """Totals over participants; a run of misses belongs to one person, so the
        sum keeps the longest."""
        return CheckinCompletion(
            self.expected + other.expected,
            self.completed + other.completed,
            self.on_time + other.on_time,
            self.late + other.late,
            max(self.longest_miss_run, other.longest_miss_run),
        )


NO_CHECKINS = CheckinCompletion(0, 0, 0, 0, 0)


def expected_occurrences(
    occurrences: Iterable[CheckinOccurrence],
    *,
    enrolled_at: datetime,
    until: datetime,
) -> list[CheckinOccurrence]:
    """The prompts whose answer window closed after enrolment and by ``until`` (now,
    or the withdrawal), in the order their windows closed."""
    chosen = [o for o in occurrences if enrolled_at < o.expires_at <= until]
    return sorted(chosen, key=lambda o: (o.expires_at, o.key))


def checkin_completion(
    expected: Sequence[CheckinOccurrence], answers: dict[str, CheckinAnswer]
) -> CheckinCompletion:
    completed = on_time = late = run = longest = 0
    for occurrence in expected:
        answer = answers.get(occurrence.key)
        if answer is None or not answer.complete:
            run += 1
            longest = max(longest, run)
            continue
        run = 0
        completed += 1
        if answer.late:
            late += 1
        else:
            on_time += 1
    return CheckinCompletion(len(expected), completed, on_time, late, longest)


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile by nearest rank, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def nearest_rank_counted(counts: Mapping[int, int], fraction: float) -> int | None:
    """:func:`nearest_rank` of values given as how many times each occurs (a
    histogram: its cost follows the distinct values, not how many there are)."""
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(fraction * total)), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


@dataclass(frozen=True, slots=True)
class Period:
    """``start`` (included) to ``end`` (excluded), UTC; ``month`` is its local 1st."""

    month: date
    start: datetime
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def holds_day(self, day: date) -> bool:
        return self.month <= day < self.month_after

    @property
    def month_after(self) -> date:
        """The local 1st after this period's month (``holds_day``'s end, excluded)."""
        return _next_month(self.month)


@dataclass(frozen=True, slots=True)
class MonthPeriods:
    this: Period
    last: Period


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def first_instant(day: date, tz: ZoneInfo) -> datetime:
    """The first moment of a local day, in UTC. With ``fold=0`` a skipped midnight is
    read with the offset before the change, which lands on the first real instant."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def month_periods(now: datetime, timezone: str) -> MonthPeriods:
    """This month and last month around ``now``, in ``timezone``."""
    tz = ZoneInfo(timezone)
    this_first = now.astimezone(tz).date().replace(day=1)
    last_first = (this_first - timedelta(days=1)).replace(day=1)
    next_first = _next_month(this_first)
    this = Period(this_first, first_instant(this_first, tz), first_instant(next_first, tz))
    last = Period(last_first, first_instant(last_first, tz), this.start)
    return MonthPeriods(this=this, last=last)
