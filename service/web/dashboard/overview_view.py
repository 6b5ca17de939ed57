"""The overview's presentation: its charts, ages and durations in words, CSV lines.

Kept out of the controller so it stays thin, and out of the template because the SVG
is built in Python (service/web/dashboard/svg_charts.py). Words come from the
dashboard catalog in the viewer's language, like the template's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from babel.dates import format_timedelta
from markupsafe import Markup

from service.actions.views import Overview, SiteFigures
from service.domain.alert_board import age_words
from service.domain.languages import formatting_locale
from service.web.dashboard import exports
from service.web.dashboard.exports import Kind
from service.web.dashboard.participant_words import VISIT_STATUS
from service.web.dashboard.render import N_, translations
from service.web.dashboard.svg_charts import Series, grouped_bars

# (state, column heading, css class): the grid, the overview's visit table and the
# participant page say a visit's state in the same words (participant_words).
_STATE_CLASS: Final = {
    "attended_in_window": "state-attended",
    "attended_out_of_window": "state-late",
    "missed": "state-missed",
    "due": "state-due",
    "upcoming": "state-upcoming",
    "cancelled": "state-cancelled",
}
STATE_COLUMNS: Final = tuple(
    (state, VISIT_STATUS[state], css) for state, css in _STATE_CLASS.items()
)


def duration_text(seconds: float | None, locale: str) -> str:
    """A lateness in words ("2 minutos"); a dash when nothing was sent."""
    if seconds is None:
        return "—"
    return format_timedelta(
        timedelta(seconds=seconds), threshold=2, locale=formatting_locale(locale), format="long"
    )


@dataclass(frozen=True, slots=True)
class Ages:
    """``ages(moment)`` -> how long ago, in words, from the page's own "now": as the
    alerts board and the inbox say it (Babel's own rounding made an alert open 4 days
    and 23 hours read "5 días" here and "4 días" on the board)."""

    now: datetime
    locale: str

    def __call__(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return age_words(moment, self.now, self.locale)


def charts(figures: Overview, shown: SiteFigures, locale: str) -> dict[str, Markup]:
    catalog = translations().get(locale) or translations()["es"]
    _ = catalog.ugettext
    this, last = _("This month"), _("Last month")
    codes = [c for c in figures.visit_codes if c in shown.visits]
    visits = grouped_bars(
        "chart-visits",
        _("Visit adherence by visit"),
        _(
            "For each visit, the share of visits scheduled in the month that were attended"
            " inside their window, this month against last month. The table beside it"
            " gives the counts."
        ),
        codes,
        [
            Series(this, [shown.visits[c].rate("this") for c in codes], "this"),
            Series(last, [shown.visits[c].rate("last") for c in codes], "last", hatched=True),
        ],
    )
    scopes = [*figures.sites, figures.total] if len(figures.sites) > 1 else figures.sites
    labels = [s.code or _("All") for s in scopes]
    checkins = grouped_bars(
        "chart-checkins",
        _("Check-in completion by site"),
        _(
            "Check-ins completed of those whose answer window closed in the month, per"
            " site, this month against last month. The table beside it gives the counts."
        ),
        labels,
        [
            Series(this, [s.checkins_this.rate for s in scopes], "this"),
            Series(last, [s.checkins_last.rate for s in scopes], "last", hatched=True),
        ],
    )
    # Built from escaped parts only (svg_charts escapes every text it writes).
    return {"visits": Markup(visits), "checkins": Markup(checkins)}  # noqa: S704


CSV_COLUMNS: Final = (
    (N_("Scope"), Kind.TEXT),
    (N_("Figure"), Kind.TEXT),
    (N_("Now"), Kind.INTEGER),
    (N_("This month"), Kind.NUMBER),
    (N_("Last month"), Kind.NUMBER),
)
Line = tuple[str, object, object, object]


def _figure_lines(fig: SiteFigures, say: Callable[[str], str]) -> Iterable[Line]:
    """Every figure of the page in the page's words: (name, now, this month, last month)."""
    yield say(N_("Enrolled")), fig.enrolled, fig.enrolled_in.this, fig.enrolled_in.last
    yield say(N_("Active")), fig.active, None, None
    yield say(N_("Withdrawn")), fig.withdrawn, fig.withdrawn_in.this, fig.withdrawn_in.last
    for code, visit in fig.visits.items():
        for state, label, _css in STATE_COLUMNS:
            yield f"{code}: {say(label)}", visit.states.get(state, 0), None, None
        in_window = say(N_("attended in window, of visits settled"))
        yield f"{code}: {in_window}", None, visit.in_window.this, visit.in_window.last
        yield f"{code}: {say(N_('settled'))}", None, visit.settled.this, visit.settled.last
    for name, label in (
        ("expected", N_("Check-ins expected")),
        ("completed", N_("Check-ins completed")),
        ("on_time", N_("Check-ins on time")),
        ("late", N_("Check-ins late")),
    ):
        yield (
            say(label),
            getattr(fig.checkins, name),
            getattr(fig.checkins_this, name),
            getattr(fig.checkins_last, name),
        )
    yield say(N_("SMS sent")), None, fig.sent.this, fig.sent.last
    yield say(N_("SMS delivered")), None, fig.delivered.this, fig.delivered.last
    yield say(N_("SMS failed or undelivered")), None, fig.failed.this, fig.failed.last
    yield say(N_("Opted out of SMS")), fig.opted_out, None, None
    yield say(N_("Blocked numbers")), fig.blocked, None, None
    this, last = fig.lateness_this, fig.lateness_last
    median = say(N_("Reminder lateness, median (minutes)"))
    yield median, None, _minutes(this.p50), _minutes(last.p50)
    p95 = say(N_("Reminder lateness, 95th percentile (minutes)"))
    yield p95, None, _minutes(this.p95), _minutes(last.p95)
    yield say(N_("Open alerts")), fig.alerts_open, None, None
    yield say(N_("Alerts raised")), None, fig.alerts_raised.this, fig.alerts_raised.last
    yield say(N_("Open queue items")), fig.inbox_open, None, None
    yield say(N_("Queue items created")), None, fig.inbox_created.this, fig.inbox_created.last


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def csv_rows(figures: Overview, locale: str) -> Iterable[list[object]]:
    """Every figure of the page, one line each, for the total and for each site."""

    def say(message: str) -> str:
        return exports.say(locale, message)

    for fig in [figures.total, *figures.sites]:
        scope = fig.code or say(N_("All your sites"))
        for name, now, this, last in _figure_lines(fig, say):
            yield [scope, name, now, this, last]
