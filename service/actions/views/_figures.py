"""The study overview's figures, per site and for all of the actor's sites.

A fixed number of statements, and no participant built in Python: the schedule
copies brought up to date (``_schedules``, one statement when nothing changed), then
per site the participant, visit and check-in figures counted by the database
(``_counted``, three statements), alerts and inbox items of the last two months in one
statement each, and the SMS figures (four per time zone). Every "this month / last
month" pair uses the site's own zone; the all-sites total adds each site's figures in
its own zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from service.actions.views import _counted
from service.actions.views import _queries as q
from service.actions.views._rows import scope_for
from service.actions.views._summary import counting_months, refresh, site_sums
from service.domain.actors import Actor
from service.domain.adherence import (
    NO_CHECKINS,
    CheckinCompletion,
    MonthPeriods,
    Period,
    month_periods,
    rate,
)
from service.runtime import Runtime

__all__ = ["Overview", "SiteFigures", "overview"]


@dataclass(slots=True)
class Pair:
    """One figure this month and last month."""

    this: int = 0
    last: int = 0


@dataclass(slots=True)
class VisitFigure:
    code: str
    states: Counter[str] = field(default_factory=Counter)  # every visit, state now
    in_window: Pair = field(default_factory=Pair)  # visits whose target is in the month
    settled: Pair = field(default_factory=Pair)

    def rate(self, which: str) -> float | None:
        return rate(getattr(self.in_window, which), getattr(self.settled, which))


@dataclass(slots=True)
class SiteFigures:
    code: str | None  # None: all of the actor's sites
    name: str
    months: MonthPeriods | None
    enrolled: int = 0
    active: int = 0
    withdrawn: int = 0
    enrolled_in: Pair = field(default_factory=Pair)
    withdrawn_in: Pair = field(default_factory=Pair)
    visits: dict[str, VisitFigure] = field(default_factory=dict)
    checkins: CheckinCompletion = NO_CHECKINS
    checkins_this: CheckinCompletion = NO_CHECKINS
    checkins_last: CheckinCompletion = NO_CHECKINS
    sent: Pair = field(default_factory=Pair)
    delivered: Pair = field(default_factory=Pair)
    failed: Pair = field(default_factory=Pair)
    whatsapp: Pair = field(default_factory=Pair)  # of ``sent``
    fallback: Pair = field(default_factory=Pair)  # of ``sent``: by SMS instead of WhatsApp
    opted_out: int = 0  # participants now (a state, not an event)
    blocked: int = 0
    # visit reminders sent this month and last: how many, p50 and p95 seconds late
    lateness_this: q.LatenessFact = field(default_factory=q.LatenessFact)
    lateness_last: q.LatenessFact = field(default_factory=q.LatenessFact)
    alerts_open: int = 0
    alerts_oldest: datetime | None = None
    alerts_raised: Pair = field(default_factory=Pair)
    inbox_open: int = 0
    inbox_oldest: datetime | None = None
    inbox_created: Pair = field(default_factory=Pair)


@dataclass(frozen=True, slots=True)
class Overview:
    now: datetime
    visit_codes: list[str]
    total: SiteFigures
    sites: list[SiteFigures]


def _bump(pair: Pair, months: MonthPeriods, moment: datetime | None) -> None:
    if months.this.holds(moment):
        pair.this += 1
    elif months.last.holds(moment):
        pair.last += 1


def _older(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


async def _add_participants(fig: SiteFigures, months: MonthPeriods) -> None:
    """The site's participant figures, counted by the database, and its visit and
    check-in figures summed from its participants' summary rows (refreshed first)."""
    assert fig.code is not None
    counts = await _counted.participant_figures(fig.code, counting_months(months))
    fig.enrolled = counts["enrolled"]
    fig.active = counts["active"]
    fig.withdrawn = counts["enrolled"] - counts["active"]
    fig.enrolled_in = Pair(counts["enrolled_this"], counts["enrolled_last"])
    fig.withdrawn_in = Pair(counts["withdrawn_this"], counts["withdrawn_last"])
    fig.opted_out = counts["opted_out"]
    fig.blocked = counts["blocked"]
    sums = await site_sums(fig.code)
    for c in sums.visits:  # in protocol order
        visit = fig.visits.get(c.code)
        if visit is None:
            visit = fig.visits[c.code] = VisitFigure(c.code)
        visit.states[c.state] += c.count
        visit.settled.this += c.settled_this
        visit.settled.last += c.settled_last
        visit.in_window.this += c.in_window_this
        visit.in_window.last += c.in_window_last
    fig.checkins, fig.checkins_this, fig.checkins_last = (
        sums.checkins,
        sums.checkins_this,
        sums.checkins_last,
    )


async def _add_messages(
    per_site: dict[str, SiteFigures], months: dict[str, MonthPeriods], total: SiteFigures
) -> None:
    """SMS counts and lateness, counted by the database: two statements per time zone
    among the sites (one zone in this trial) and two for lateness, none per
    participant."""
    zones: dict[tuple[Period, Period], list[str]] = {}
    for code, periods in months.items():
        zones.setdefault((periods.this, periods.last), []).append(code)
    for (this, last), codes in zones.items():
        windows = [q.Window(this.start, this.end), q.Window(last.start, last.end)]
        counts = await q.message_counts(codes, windows)
        for code in codes:
            fig = per_site[code]
            now_counts, then_counts = counts.get(code, [q.SmsCounts(), q.SmsCounts()])
            fig.sent = Pair(now_counts.sent, then_counts.sent)
            fig.delivered = Pair(now_counts.delivered, then_counts.delivered)
            fig.failed = Pair(now_counts.failed, then_counts.failed)
            fig.whatsapp = Pair(now_counts.whatsapp, then_counts.whatsapp)
            fig.fallback = Pair(now_counts.fallback, then_counts.fallback)
    # Each month over every zone at once: the all-sites total ranks all their values.
    for which in ("this", "last"):
        parts = []
        for (this, last), codes in zones.items():
            period = this if which == "this" else last
            parts.append((codes, q.Window(period.start, period.end)))
        found, overall = await q.reminder_lateness(parts)
        for code in per_site:
            setattr(per_site[code], f"lateness_{which}", found.get(code, q.LatenessFact()))
        setattr(total, f"lateness_{which}", overall)


def _add_alert(fig: SiteFigures, alert: q.AlertFact, months: MonthPeriods) -> None:
    if alert.status == "open":
        fig.alerts_open += 1
        fig.alerts_oldest = _older(fig.alerts_oldest, alert.raised_at)
    _bump(fig.alerts_raised, months, alert.raised_at)


def _add_inbox(fig: SiteFigures, item: q.InboxFact, months: MonthPeriods) -> None:
    if item.status == "open":
        fig.inbox_open += 1
        fig.inbox_oldest = _older(fig.inbox_oldest, item.created_at)
    _bump(fig.inbox_created, months, item.created_at)


def _merge(total: SiteFigures, part: SiteFigures) -> None:
    """Add a site's figures into the all-sites total (each counted in its own zone)."""
    for name in ("enrolled", "active", "withdrawn", "opted_out", "blocked"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for name in (
        "enrolled_in",
        "withdrawn_in",
        "sent",
        "delivered",
        "failed",
        "whatsapp",
        "fallback",
        "alerts_raised",
        "inbox_created",
    ):
        mine, theirs = getattr(total, name), getattr(part, name)
        mine.this += theirs.this
        mine.last += theirs.last
    for code, visit in part.visits.items():
        into = total.visits.setdefault(code, VisitFigure(code))
        into.states.update(visit.states)
        for pair in ("in_window", "settled"):
            getattr(into, pair).this += getattr(visit, pair).this
            getattr(into, pair).last += getattr(visit, pair).last
    total.checkins = total.checkins + part.checkins
    total.checkins_this = total.checkins_this + part.checkins_this
    total.checkins_last = total.checkins_last + part.checkins_last
    total.alerts_open += part.alerts_open
    total.inbox_open += part.inbox_open
    for name in ("alerts_oldest", "inbox_oldest"):
        theirs_at = getattr(part, name)
        if theirs_at is not None:
            setattr(total, name, _older(getattr(total, name), theirs_at))


async def overview(rt: Runtime, actor: Actor, *, site: str | None = None) -> Overview:
    """Figures for the actor's sites (or one of them; another site gives none)."""
    scope = scope_for(actor)
    if site is not None:
        scope = (site,) if actor.can_see_site(site) else ()
    now = rt.clock.now()
    sites = await q.scoped_sites(scope)
    months = {s.code: month_periods(now, s.timezone) for s in sites}
    since = min((m.last.start for m in months.values()), default=now)
    await refresh(rt, scope, now, [(code, counting_months(m)) for code, m in months.items()])
    alerts = await q.open_alerts_and_recent(scope, since)
    inbox = await q.inbox_open_and_recent(scope, since)

    per_site = {s.code: SiteFigures(s.code, s.name, months[s.code]) for s in sites}
    for code, fig in per_site.items():
        await _add_participants(fig, months[code])
    for alert in alerts:
        _add_alert(per_site[alert.site], alert, months[alert.site])
    total = SiteFigures(None, "", next(iter(months.values()), None))
    for item in inbox:
        if item.site is None:  # of no site: counted in the all-sites total only
            _add_inbox(total, item, total.months or month_periods(now, "UTC"))
        else:
            _add_inbox(per_site[item.site], item, months[item.site])
    await _add_messages(per_site, months, total)
    for fig in per_site.values():
        _merge(total, fig)
    codes = [visit.code for visit in rt.protocol.visits]
    return Overview(now=now, visit_codes=codes, total=total, sites=list(per_site.values()))
