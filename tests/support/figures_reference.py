"""The overview's participant figures as they were computed before the database
counted them: every participant built as a row (``participant_rows``, the domain's
own definitions) and summed in Python. Kept as the reference the SQL is compared with."""

from __future__ import annotations

from service.actions.views import participant_rows
from service.actions.views._figures import Pair, SiteFigures, VisitFigure
from service.actions.views._rows import ParticipantRow
from service.domain.actors import Actor
from service.domain.adherence import (
    SETTLED,
    CheckinCompletion,
    MonthPeriods,
    Period,
    checkin_completion,
)
from service.runtime import Runtime

IN_WINDOW = "attended_in_window"


def _bump(pair: Pair, months: MonthPeriods, moment: object) -> None:
    if months.this.holds(moment):  # type: ignore[arg-type]
        pair.this += 1
    elif months.last.holds(moment):  # type: ignore[arg-type]
        pair.last += 1


def _within(row: ParticipantRow, period: Period) -> CheckinCompletion:
    closed = [o for o in row.expected if period.holds(o.expires_at)]
    return checkin_completion(closed, row.answers)


def add_participant(fig: SiteFigures, row: ParticipantRow, months: MonthPeriods) -> None:
    fact = row.fact
    fig.enrolled += 1
    fig.active += fact.active
    fig.withdrawn += not fact.active
    _bump(fig.enrolled_in, months, fact.created_at)
    _bump(fig.withdrawn_in, months, fact.withdrawn_at)
    fig.opted_out += fact.opted_out
    fig.blocked += fact.sms_blocked_code is not None
    for cell in row.cells:
        visit = fig.visits.get(cell.code)
        if visit is None:
            visit = fig.visits[cell.code] = VisitFigure(cell.code)
        visit.states[cell.state] += 1
        if cell.state not in SETTLED:
            continue
        if months.this.holds_day(cell.target_date):
            visit.settled.this += 1
            visit.in_window.this += cell.state == IN_WINDOW
        elif months.last.holds_day(cell.target_date):
            visit.settled.last += 1
            visit.in_window.last += cell.state == IN_WINDOW
    fig.checkins = fig.checkins + row.checkins
    fig.checkins_this = fig.checkins_this + _within(row, months.this)
    fig.checkins_last = fig.checkins_last + _within(row, months.last)


async def site_figures_in_python(
    rt: Runtime, actor: Actor, code: str, months: MonthPeriods
) -> SiteFigures:
    fig = SiteFigures(code, "", months)
    for row in sorted(await participant_rows(rt, actor, site=code), key=lambda r: r.study_id):
        add_participant(fig, row, months)
    return fig
