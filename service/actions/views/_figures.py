"""The study overview's figures, per site and for all of the actor's sites.

A fixed number of statements, and no participant built in Python: the summary rows
brought up to date (``_summary.refresh``), then per site the participant figures
counted by the database (``_counted``, one statement) and the visit and check-in
figures from the site's totals that triggers keep (``_summary.site_sums``, two),
alerts and inbox items counted in one statement
each per time zone, and the SMS figures from kept closed spans and the current hour
(``_sms_days``: four statements per time zone, two or three more when a span was
missing: a closed day, or an hour of today).
Every "this month / last month" pair uses the site's own zone; the all-sites total
adds each site's figures in its own zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from service.actions.views import _counted
from service.actions.views import _queries as q
from service.actions.views._rows import scope_for
from service.actions.views._sms_days import sms_months
from service.actions.views._summary import counting_months, refresh, site_sums
from service.domain.actors import Actor
from service.domain.adherence import (
    NO_CHECKINS,
    CheckinCompletion,
    MonthPeriods,
    month_periods,
    nearest_rank_counted,
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
    per_site: dict[str, SiteFigures], zones: dict[str, str], now: datetime, total: SiteFigures
) -> None:
    """SMS counts and reminder lateness from the sites' closed days kept and today
    counted (``_sms_days``): a few statements per time zone among the sites (one
    zone in this trial), none per participant. The all-sites lateness ranks every
    site's values together."""
    late_this: Counter[int] = Counter()
    late_last: Counter[int] = Counter()
    for zone, codes in _by_zone(zones).items():
        months = per_site[codes[0]].months
        assert months is not None
        found = await sms_months(zone, months, codes, now)
        for code in codes:
            fig, sms = per_site[code], found[code]
            for name in ("sent", "delivered", "failed", "whatsapp", "fallback"):
                setattr(fig, name, Pair(getattr(sms.this, name), getattr(sms.last, name)))
            fig.lateness_this = _lateness(sms.this.lateness)
            fig.lateness_last = _lateness(sms.last.lateness)
            late_this.update(sms.this.lateness)
            late_last.update(sms.last.lateness)
    total.lateness_this, total.lateness_last = _lateness(late_this), _lateness(late_last)


def _lateness(tenths: Counter[int]) -> q.LatenessFact:
    """How many reminders, and their p50 and p95 lateness in seconds (to the tenth)."""
    p50, p95 = nearest_rank_counted(tenths, 0.5), nearest_rank_counted(tenths, 0.95)
    return q.LatenessFact(
        sum(tenths.values()),
        None if p50 is None else p50 / 10,
        None if p95 is None else p95 / 10,
    )


def _by_zone(zones: dict[str, str]) -> dict[str, list[str]]:
    """Site codes by time zone: sites of one zone share their months' instants."""
    found: dict[str, list[str]] = {}
    for code, zone in zones.items():
        found.setdefault(zone, []).append(code)
    return found


async def _add_items(
    per_site: dict[str, SiteFigures],
    zones: dict[str, str],
    total: SiteFigures,
    *,
    all_sites: bool,
    now: datetime,
) -> None:
    """Open alerts and inbox items, and those of each month, counted by the database:
    two statements per time zone among the sites. Inbox items of no site (messages
    from unknown numbers) count in the all-sites total only, in the first site's
    months, and only for an actor who sees every site."""
    no_site = all_sites
    for codes in _by_zone(zones).values():
        months = per_site[codes[0]].months
        assert months is not None
        alerts = await q.item_counts(q.ALERTS, codes, months)
        inbox = await q.item_counts(q.INBOX, codes, months, no_site=no_site)
        for code in codes:
            fig = per_site[code]
            _take(fig, "alerts", "raised", alerts.get(code))
            _take(fig, "inbox", "created", inbox.get(code))
        if no_site:
            _take(total, "inbox", "created", inbox.get(None))
            no_site = False
    if no_site:  # no site at all: the items of none, in UTC months
        inbox = await q.item_counts(q.INBOX, [], month_periods(now, "UTC"), no_site=True)
        _take(total, "inbox", "created", inbox.get(None))


def _take(fig: SiteFigures, name: str, event: str, counts: q.ItemCounts | None) -> None:
    if counts is not None:
        setattr(fig, f"{name}_open", counts.open)
        setattr(fig, f"{name}_oldest", counts.oldest)
        setattr(fig, f"{name}_{event}", Pair(counts.this, counts.last))


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
    await refresh(rt, scope, now, [(code, counting_months(m)) for code, m in months.items()])

    per_site = {s.code: SiteFigures(s.code, s.name, months[s.code]) for s in sites}
    for code, fig in per_site.items():
        await _add_participants(fig, months[code])
    total = SiteFigures(None, "", next(iter(months.values()), None))
    zones = {s.code: s.timezone for s in sites}
    await _add_items(per_site, zones, total, all_sites=scope is None, now=now)
    await _add_messages(per_site, zones, now, total)
    for fig in per_site.values():
        _merge(total, fig)
    codes = [visit.code for visit in rt.protocol.visits]
    return Overview(now=now, visit_codes=codes, total=total, sites=list(per_site.values()))
