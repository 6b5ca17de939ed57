"""GET /dashboard/staff (admins): staff accounts, and the forms that add one, change
its role and sites, set a new password, disable or enable it.

Every write goes through ``service.actions.access`` (validated, audited, one
transaction); the lock-out rules (no admin disables or demotes themselves, the last
active admin stays) live there, so the API and this page cannot differ.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from service.actions import access
from service.domain.states import StaffRole
from service.runtime import Runtime
from service.web.dashboard.csrf import SESSION_COOKIE
from service.web.dashboard.exports import Kind, columns_in, download, say
from service.web.dashboard.form_flow import Refuse, form_page, run_form
from service.web.dashboard.render import N_
from service.web.dashboard.session import Viewer, require_admin

Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Saved = Annotated[str | None, Parameter(max_length=32)]
PAGE: Final = "/dashboard/staff"

ROLE_WORDS: Final = {
    StaffRole.ADMIN: N_("Admin (every site, manages accounts)"),
    StaffRole.COORDINATOR: N_("Coordinator (their sites)"),
    StaffRole.MONITOR: N_("Monitor (reads, writes nothing)"),
}
SAVED: Final = {
    "added": N_("The account was added. Give the person their password in person."),
    "changed": N_("The role and sites were saved; they apply from the next page."),
    "password": N_("The new password was set; the account's sessions were ended."),
    "disabled": N_("The account was disabled; its sessions ended at once."),
    "enabled": N_("The account can sign in again."),
}
MESSAGES: Final = {
    "email": N_("Enter an email address, e.g. ana@uandes.cl."),
    "409:email": N_("This email already has an account."),
    "role": N_("Choose a role."),
    "409:role": N_("You cannot take away your own admin role, and the last active admin keeps it."),
    "sites": N_("A coordinator needs at least one site."),
    "site": N_("A coordinator needs at least one site."),
    "password": N_("The password needs at least 10 characters."),
    "409:active": N_("You cannot disable your own account, nor the last active admin."),
}
COLUMNS: Final = (
    (N_("Email"), Kind.TEXT),
    (N_("Role"), Kind.TEXT),
    (N_("Sites"), Kind.TEXT),
    (N_("State"), Kind.TEXT),
    (N_("Account since"), Kind.DATETIME),
)


def _sites(rt: Runtime, account: access.StaffAccount, locale: str) -> str:
    if account.role == StaffRole.ADMIN or (account.role == StaffRole.MONITOR and not account.sites):
        return say(locale, N_("All sites"))
    return ", ".join(account.sites)


class StaffPagesController(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def accounts(
        self,
        rt: Runtime,
        viewer: Viewer,
        request: Request[Any, Any, Any],
        format: Format = None,
        saved: Saved = None,
    ) -> Template | Response[Any]:
        require_admin(viewer)
        accounts = await access.staff_accounts(viewer.actor)
        if format in ("csv", "xlsx"):
            locale, zone = viewer.locale, ZoneInfo(rt.protocol.sites[0].timezone)
            rows = [
                [
                    a.email,
                    say(locale, ROLE_WORDS[StaffRole(a.role)]),
                    _sites(rt, a, locale),
                    say(locale, N_("Enabled") if a.active else N_("Disabled")),
                    a.created_at.astimezone(zone),
                ]
                for a in accounts
            ]
            return download(locale, format, "staff", columns_in(locale, COLUMNS), rows)
        return form_page(
            request,
            viewer,
            "dashboard/staff.html",
            accounts=accounts,
            roles=ROLE_WORDS,
            sites=rt.protocol.sites,
            site_words={a.email: _sites(rt, a, viewer.locale) for a in accounts},
            flash=SAVED.get(saved or ""),
            me=viewer.email,
        )

    @post("/", status_code=303)
    async def add(self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any]) -> Redirect:
        require_admin(viewer)

        async def act(v: dict[str, str]) -> str:
            sites = [s for s in v["sites"].split(",") if s]
            await access.add_staff(rt, viewer.actor, v["email"], v["role"], sites, v["password"])
            return "added"

        return await run_form(
            request, back=PAGE, form="add", fields=("email", "role", "password"),
            multi=("sites",), action=act, messages=MESSAGES,
        )  # fmt: skip

    @post("/{email:str}/role", status_code=303)
    async def change(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], email: FromPath[str]
    ) -> Redirect:
        require_admin(viewer)

        async def act(v: dict[str, str]) -> str:
            sites = [s for s in v["sites"].split(",") if s]
            await access.change_staff(rt, viewer.actor, email, v["role"], sites)
            return "changed"

        return await run_form(
            request, back=PAGE, form=f"role:{email}", fields=("role",), multi=("sites",),
            action=act, messages=MESSAGES,
        )  # fmt: skip

    @post("/{email:str}/password", status_code=303)
    async def password(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], email: FromPath[str]
    ) -> Redirect:
        require_admin(viewer)
        current = request.cookies.get(SESSION_COOKIE)

        async def act(v: dict[str, str]) -> str:
            await access.set_staff_password(
                rt, viewer.actor, email, v["password"], current_session=current
            )
            return "password"

        return await run_form(
            request, back=PAGE, form=f"password:{email}", fields=("password",), action=act,
            messages=MESSAGES,
        )  # fmt: skip

    @post("/{email:str}/active", status_code=303)
    async def active(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], email: FromPath[str]
    ) -> Redirect:
        require_admin(viewer)

        async def act(v: dict[str, str]) -> str:
            if v["active"] not in ("yes", "no"):
                raise Refuse("active", N_("Choose whether the account may sign in."))
            await access.set_staff_active_by(rt, viewer.actor, email, active=v["active"] == "yes")
            return "enabled" if v["active"] == "yes" else "disabled"

        return await run_form(
            request, back=PAGE, form=f"active:{email}", fields=("active",), action=act,
            messages=MESSAGES,
        )  # fmt: skip
