"""GET /dashboard: the study overview, for all of the viewer's sites or one of them.

Thin: the figures come from service.actions.views (a fixed number of
statements), their charts and CSV lines from overview_view. ``?site=`` of a site the
viewer does not see shows no figures (the same as the API: nothing of it leaks).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Template

from service.actions.views import overview
from service.runtime import Runtime
from service.web.dashboard import overview_view as view
from service.web.dashboard.exports import columns_in, download
from service.web.dashboard.render import render_page
from service.web.dashboard.session import Viewer

SiteCode = Annotated[str | None, Parameter(max_length=16)]
Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]


class OverviewController(Controller):
    path = "/dashboard"
    include_in_schema = False

    @get("/")
    async def overview(
        self, rt: Runtime, viewer: Viewer, site: SiteCode = None, format: Format = None
    ) -> Template | Response[Any]:
        figures = await overview(rt, viewer.actor, site=site or None)
        if format in ("csv", "xlsx"):
            columns = columns_in(viewer.locale, view.CSV_COLUMNS)
            rows = view.csv_rows(figures, viewer.locale)
            return download(viewer.locale, format, "overview", columns, rows)
        chosen = next((s for s in figures.sites if s.code == site), None) if site else None
        shown = chosen or figures.total
        return render_page(
            viewer,
            "dashboard/overview.html",
            figures=figures,
            shown=shown,
            site=site or "",
            charts=view.charts(figures, shown, viewer.locale),
            ages=view.Ages(figures.now, viewer.locale),
            lateness=view.duration_text,
            states=view.STATE_COLUMNS,
        )
