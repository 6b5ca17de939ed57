"""GET /dashboard/participants: the participant list, and with ``?view=grid`` the
participant × visit grid (one route, so both share filters, sorting, paging, CSV and
site scoping by construction).

Thin: the page comes from service.actions.views (a fixed number of statements;
filtered, sorted and cut by the database, only its own rows built); the CSV and
XLSX downloads hold everyone, so they build every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Template

from service.actions import views as lists
from service.actions.views import Flag, ParticipantRow, participant_rows
from service.runtime import Runtime
from service.web.dashboard.exports import Column, Kind, columns_in, download, say
from service.web.dashboard.overview_view import STATE_COLUMNS
from service.web.dashboard.participant_words import CHANNEL, VISIT_STATUS
from service.web.dashboard.render import N_, render_page
from service.web.dashboard.session import Viewer

SiteCode = Annotated[str | None, Parameter(max_length=16)]
Status = Annotated[str | None, Parameter(pattern="^(active|withdrawn)?$")]
Sort = Annotated[str, Parameter(pattern="^(worst|study_id|site|checkins|visits)$")]
View = Annotated[str, Parameter(pattern="^(list|grid)$")]
Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Limit = Annotated[int, Parameter(ge=1, le=500)]
Cursor = Annotated[str | None, Parameter(max_length=400)]
Flags = Annotated[list[str] | None, Parameter(max_items=5)]

FLAG_LABELS = {
    Flag.OPTED_OUT: N_("Opted out"),
    Flag.BLOCKED: N_("Blocked number"),
    Flag.PAUSED: N_("Paused"),
    Flag.OVERDUE: N_("Overdue visit"),
    Flag.OPEN_ALERT: N_("Open alert"),
}
SORT_LABELS = {
    "worst": N_("Lowest adherence first"),
    "checkins": N_("Check-in completion"),
    "visits": N_("Visit adherence"),
    "study_id": N_("Study ID"),
    "site": N_("Site"),
}


LIST_COLUMNS = (
    (N_("Study ID"), Kind.TEXT),
    (N_("Site"), Kind.TEXT),
    (N_("Status"), Kind.TEXT),
    (N_("Check-ins completed"), Kind.INTEGER),
    (N_("Check-ins expected"), Kind.INTEGER),
    (N_("Check-in completion"), Kind.PERCENT),
    (N_("Late"), Kind.INTEGER),
    (N_("Longest run of misses"), Kind.INTEGER),
    (N_("Visits in window"), Kind.INTEGER),
    (N_("Visits settled"), Kind.INTEGER),
    (N_("Visit adherence"), Kind.PERCENT),
    (N_("Flags"), Kind.TEXT),
    (N_("Channel"), Kind.TEXT),
)


def _list(rows: Iterable[ParticipantRow], locale: str) -> Iterator[list[object]]:
    """The list's rows in the page's words (rates as fractions, typed in XLSX)."""
    for row in rows:
        flags = [say(locale, label) for flag, label in FLAG_LABELS.items() if flag in row.flags]
        yield [
            row.study_id,
            row.fact.site,
            say(locale, N_("In follow-up") if row.fact.active else N_("Withdrew")),
            row.checkins.completed,
            row.checkins.expected,
            row.checkins.rate,
            row.checkins.late,
            row.checkins.longest_miss_run,
            row.visits_in_window,
            row.visits_settled,
            row.visit_rate,
            ", ".join(flags),
            say(locale, CHANNEL.get(row.fact.channel, row.fact.channel)),
        ]


def _grid(rows: Iterable[ParticipantRow], codes: list[str], locale: str) -> Iterator[list[object]]:
    """One line per participant, one column per visit: the state and its window in words."""
    for row in rows:
        cells = {cell.code: cell for cell in row.cells}
        line: list[object] = [row.study_id, row.fact.site]
        for code in codes:
            cell = cells.get(code)
            if cell is None:
                line.append("")
                continue
            state = say(locale, VISIT_STATUS.get(cell.state, cell.state))
            line.append(
                say(locale, N_("%(state)s (window %(start)s to %(end)s)"))
                % {"state": state, "start": cell.window_start, "end": cell.window_end}
            )
        yield line


class ParticipantListController(Controller):
    path = "/dashboard/participants"
    include_in_schema = False

    @get("/")
    async def participants(
        self,
        rt: Runtime,
        viewer: Viewer,
        site: SiteCode = None,
        status: Status = None,
        flag: Flags = None,
        sort: Sort = "worst",
        view: View = "list",
        limit: Limit = 50,
        cursor: Cursor = None,
        format: Format = None,
    ) -> Template | Response[Any]:
        flags = lists.parse_flags(flag or [])
        codes = [visit.code for visit in rt.protocol.visits]
        if format in ("csv", "xlsx"):
            rows = await participant_rows(
                rt, viewer.actor, site=site or None, status=status or None
            )
            ordered = sorted(lists.filter_rows(rows, flags), key=lists.SORTS[sort])
            locale = viewer.locale
            if view == "grid":
                columns = [*columns_in(locale, LIST_COLUMNS[:2]), *(Column(c) for c in codes)]
                return download(
                    locale, format, "visit-grid", columns, _grid(ordered, codes, locale)
                )
            columns = columns_in(locale, LIST_COLUMNS)
            return download(locale, format, "participants", columns, _list(ordered, locale))
        page = await lists.participant_list_page(
            rt,
            viewer.actor,
            site=site or None,
            status=status or None,
            flags=flags,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        kept: dict[str, Any] = {
            "site": site or "",
            "status": status or "",
            "flag": sorted(f.value for f in flags),
            "sort": sort,
            "view": view,
            "limit": limit,
        }
        query = {k: v for k, v in kept.items() if v not in ("", [])}
        return render_page(
            viewer,
            "dashboard/participant_grid.html" if view == "grid" else "dashboard/participants.html",
            page=page,
            cursor=cursor,
            codes=codes,
            filters=kept,
            sites=[s for s in rt.protocol.sites if viewer.actor.can_see_site(s.code)],
            flag_labels=FLAG_LABELS,
            sort_labels=SORT_LABELS,
            states={state: (label, css) for state, label, css in STATE_COLUMNS},
            this_url="/dashboard/participants?" + urlencode(query, doseq=True),
            next_url=(
                "/dashboard/participants?"
                + urlencode({**query, "cursor": page.next_cursor}, doseq=True)
                if page.next_cursor
                else None
            ),
            csv_url="/dashboard/participants?" + urlencode({**query, "format": "csv"}, doseq=True),
            other_view_url="/dashboard/participants?"
            + urlencode({**query, "view": "list" if view == "grid" else "grid"}, doseq=True),
        )
