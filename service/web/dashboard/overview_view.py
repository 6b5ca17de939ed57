"""The overview's presentation: its charts, ages and durations in words, CSV lines.

Kept out of the controller so it stays thin, and out of the template because the SVG
is built in Python (service/web/dashboard/svg_charts.py). Words come from the
dashboard catalog in the viewer's language, like the template's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from babel.dates import format_timedelta
from markupsafe import Markup

from service.actions.views import Overview, SiteFigures
from service.domain.languages import formatting_locale
from service.web.dashboard.participant_words import VISIT_STATUS
from service.web.dashboard.render import translations
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
    """``ages(moment)`` -> how long ago, in words, from the page's own "now"."""

    now: datetime
    locale: str

    def __call__(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_timedelta(
            self.now - moment, threshold=2, locale=formatting_locale(self.locale)
        )


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


CSV_HEADER: Final = ("scope", "figure", "now", "this_month", "last_month")


def _figure_lines(fig: SiteFigures) -> Iterable[tuple[str, object, object, object]]:
    yield "enrolled", fig.enrolled, fig.enrolled_in.this, fig.enrolled_in.last
    yield "active", fig.active, "", ""
    yield "withdrawn", fig.withdrawn, fig.withdrawn_in.this, fig.withdrawn_in.last
    for code, visit in fig.visits.items():
        for state, _label, _css in STATE_COLUMNS:
            yield f"visit:{code}:{state}", visit.states.get(state, 0), "", ""
        yield f"visit:{code}:in_window", "", visit.in_window.this, visit.in_window.last
        yield f"visit:{code}:settled", "", visit.settled.this, visit.settled.last
    for name in ("expected", "completed", "on_time", "late"):
        yield (
            f"checkins_{name}",
            getattr(fig.checkins, name),
            getattr(fig.checkins_this, name),
            getattr(fig.checkins_last, name),
        )
    yield "sms_sent", "", fig.sent.this, fig.sent.last
    yield "sms_delivered", "", fig.delivered.this, fig.delivered.last
    yield "sms_failed", "", fig.failed.this, fig.failed.last
    yield "participants_opted_out", fig.opted_out, "", ""
    yield "participants_blocked", fig.blocked, "", ""
    yield "reminder_lateness_p50_s", "", fig.lateness_this.p50, fig.lateness_last.p50
    yield "reminder_lateness_p95_s", "", fig.lateness_this.p95, fig.lateness_last.p95
    yield "alerts_open", fig.alerts_open, "", ""
    yield "alerts_raised", "", fig.alerts_raised.this, fig.alerts_raised.last
    yield "inbox_open", fig.inbox_open, "", ""
    yield "inbox_created", "", fig.inbox_created.this, fig.inbox_created.last


def csv_rows(figures: Overview) -> Iterable[list[object]]:
    """Every figure of the page, one line each, for the total and for each site."""
    for fig in [figures.total, *figures.sites]:
        scope = fig.code or "all"
        for name, now, this, last in _figure_lines(fig):
            yield [scope, name, "" if now is None else now, _blank(this), _blank(last)]


def _blank(value: object) -> object:
    return "" if value is None else value
