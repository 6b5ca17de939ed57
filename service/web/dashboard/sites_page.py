"""GET /dashboard/sites (admins): each site's on-call numbers, primary and backup,
which receive the safety alerts; a form per site. Through the same action, with the
same validation, as ``PUT /api/v1/sites/{code}/on-call`` (audited there)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from service.actions.participants import set_on_call, visible_sites
from service.runtime import Runtime
from service.web.dashboard.exports import Kind, columns_in, download
from service.web.dashboard.form_flow import Refuse, form_page, run_form
from service.web.dashboard.render import N_
from service.web.dashboard.session import Viewer, require_admin

Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Saved = Annotated[str | None, Parameter(max_length=32)]
PAGE: Final = "/dashboard/sites"
PHONE_HINT: Final = N_(
    "A Chilean mobile: 9 1234 5678 or +56 9 1234 5678 (spaces and dashes are fine)."
)
MESSAGES: Final = {
    "primary": N_("Enter the primary on-call mobile, e.g. +56 9 1234 5678."),
    "backup": N_("Enter a Chilean mobile for the backup, or leave it empty."),
}
SAVED: Final = {"on_call": N_("The on-call numbers were saved; the next alert goes to them.")}
COLUMNS: Final = (
    (N_("Site"), Kind.TEXT),
    (N_("Name"), Kind.TEXT),
    (N_("Time zone"), Kind.TEXT),
    (N_("Help line"), Kind.TEXT),
    (N_("On-call primary"), Kind.TEXT),
    (N_("On-call backup"), Kind.TEXT),
)


class SitesPageController(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def sites(
        self,
        viewer: Viewer,
        request: Request[Any, Any, Any],
        format: Format = None,
        saved: Saved = None,
    ) -> Template | Response[Any]:
        require_admin(viewer)
        sites = await visible_sites(viewer.actor)
        if format in ("csv", "xlsx"):
            rows = [
                [s.code, s.name, s.timezone, s.help_line, s.on_call_primary, s.on_call_backup]
                for s in sites
            ]
            locale = viewer.locale
            return download(locale, format, "sites", columns_in(locale, COLUMNS), rows)
        return form_page(
            request,
            viewer,
            "dashboard/sites.html",
            sites=sites,
            hint=PHONE_HINT,
            flash=SAVED.get(saved or ""),
        )

    @post("/{code:str}/on-call", status_code=303)
    async def on_call(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], code: FromPath[str]
    ) -> Redirect:
        require_admin(viewer)

        async def act(v: dict[str, str]) -> str:
            primary, backup = v["primary"].strip(), v["backup"].strip()
            if not primary:
                raise Refuse("primary", MESSAGES["primary"])
            await set_on_call(rt, viewer.actor, code, primary, backup or None)
            return "on_call"

        return await run_form(
            request, back=PAGE, form=f"on_call:{code}", fields=("primary", "backup"),
            action=act, messages=MESSAGES,
        )  # fmt: skip
