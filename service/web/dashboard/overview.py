"""GET /dashboard: the study overview (a placeholder until the overview's figures land)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from service.runtime import Runtime
from service.web.dashboard.render import render_page
from service.web.dashboard.session import Viewer


class OverviewController(Controller):
    path = "/dashboard"
    include_in_schema = False

    @get("/")
    async def overview(self, rt: Runtime, viewer: Viewer) -> Template:
        sites = [s for s in rt.protocol.sites if viewer.actor.can_see_site(s.code)]
        return render_page(viewer, "dashboard/overview.html", sites=sites)
