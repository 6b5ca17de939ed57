"""GET /dashboard/edc: the REDCap push as a data manager follows it.

Whether it is configured and how often it runs; what is waiting to be sent; the
latest runs with their outcome in words (and REDCap's own message folded away); the
open conflicts, values changed in REDCap by hand that the push did not overwrite,
each with "keep REDCap's value" or "send ours" (coordinators and admins, their sites;
audited by ``service.actions.edc.resolve_conflict`` and honoured by the next push);
and the latest choices, with who, when, why and whether REDCap has it yet.
``?format=csv|xlsx`` downloads the conflicts, open and resolved.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from service.actions.edc import (
    ConflictView,
    edc_mapping,
    edc_push_status,
    resolve_conflict,
    resolved_conflicts,
)
from service.domain.states import PushStatus
from service.runtime import Runtime
from service.web.dashboard.exports import Kind, columns_in, download, say
from service.web.dashboard.form_flow import form_page, run_form
from service.web.dashboard.people import actor_words
from service.web.dashboard.render import N_, say_in
from service.web.dashboard.session import Viewer, require_writer

Format = Annotated[str | None, Parameter(pattern="^(html|csv|xlsx)$")]
Saved = Annotated[str | None, Parameter(max_length=32)]
PAGE: Final = "/dashboard/edc"

RUN_WORDS: Final = {
    PushStatus.RUNNING: N_("Running"),
    PushStatus.OK: N_("Sent"),
    PushStatus.DRY_RUN: N_("Trial run (nothing sent)"),
    PushStatus.REFUSED: N_(
        "REDCap refused the batch: a value does not fit the project. Nothing of it was "
        "imported; it is sent again once fixed."
    ),
    PushStatus.FORBIDDEN: N_(
        "REDCap refused the token: check REDCAP_API_TOKEN and the user's API rights."
    ),
    PushStatus.UNAVAILABLE: N_(
        "REDCap did not answer, even after retries; the next run tries again."
    ),
    PushStatus.METADATA_MISMATCH: N_(
        "REDCap's project differs from what the service sends (fields, events or "
        "instruments): nothing is sent until they match."
    ),
    PushStatus.MAPPING_ERROR: N_("A record could not be placed in REDCap; nothing of it was sent."),
    "busy": N_("Another push was running."),
}
CHOICE_WORDS: Final = {
    "keep_redcap": N_("Keep REDCap's value"),
    "send_ours": N_("Send ours"),
}
SAVED: Final = {
    "keep_redcap": N_("REDCap's value stays; the push will not report it again."),
    "send_ours": N_("The next push writes our value to REDCap."),
}
MESSAGES: Final = {
    "choice": N_("Choose keep REDCap's value or send ours."),
    "409:choice": N_("Someone resolved this conflict a moment ago."),
    "reason": N_("The reason is too long: at most 500 characters."),
}
COLUMNS: Final = (
    (N_("Record"), Kind.TEXT),
    (N_("Site"), Kind.TEXT),
    (N_("Event"), Kind.TEXT),
    (N_("Instrument"), Kind.TEXT),
    (N_("Instance"), Kind.INTEGER),
    (N_("Field"), Kind.TEXT),
    (N_("Our value"), Kind.TEXT),
    (N_("REDCap's value"), Kind.TEXT),
    (N_("Detected at"), Kind.DATETIME),
    (N_("Choice"), Kind.TEXT),
    (N_("Chosen by"), Kind.TEXT),
    (N_("Chosen at"), Kind.DATETIME),
    (N_("In REDCap since"), Kind.DATETIME),
)


def _labels(rt: Runtime) -> dict[str, dict[str, str]]:
    """Field, event and choice labels of the mapping, for values in words."""
    mapping = edc_mapping(rt)
    fields = mapping.fields()
    return {
        "fields": {f.name: f.label for f in fields},
        "events": {e.unique_name: e.label for e in mapping.events},
        "choices": {f"{f.name}={c.code}": c.label for f in fields for c in f.choices},
    }


def _zone(rt: Runtime, site: str) -> ZoneInfo:
    return ZoneInfo(next((s.timezone for s in rt.protocol.sites if s.code == site), "UTC"))


def _row(
    rt: Runtime, viewer: Viewer, c: ConflictView, labels: dict[str, dict[str, str]]
) -> list[Any]:
    zone, choices = _zone(rt, c.site), labels["choices"]
    return [
        c.record,
        c.site,
        labels["events"].get(c.event, c.event),
        c.form,
        c.instance,
        f"{labels['fields'].get(c.field, c.field)} ({c.field})",
        choices.get(f"{c.field}={c.ours}", c.ours),
        choices.get(f"{c.field}={c.theirs}", c.theirs),
        c.detected_at.astimezone(zone),
        say(viewer.locale, CHOICE_WORDS[c.resolution]) if c.resolution else "",
        actor_words(c.resolved_by, say_in(viewer.locale)) if c.resolved_by else "",
        c.resolved_at.astimezone(zone) if c.resolved_at else None,
        c.applied_at.astimezone(zone) if c.applied_at else None,
    ]


class EdcPageController(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def status(
        self,
        rt: Runtime,
        viewer: Viewer,
        request: Request[Any, Any, Any],
        format: Format = None,
        saved: Saved = None,
    ) -> Template | Response[Any]:
        status = await edc_push_status(rt, viewer.actor)
        resolved = await resolved_conflicts(viewer.actor.site_scope)
        labels = _labels(rt)
        if format in ("csv", "xlsx"):
            rows = [_row(rt, viewer, c, labels) for c in [*status.conflicts, *resolved]]
            locale = viewer.locale
            return download(locale, format, "edc-conflicts", columns_in(locale, COLUMNS), rows)
        return form_page(
            request,
            viewer,
            "dashboard/edc.html",
            status=status,
            resolved=resolved,
            labels=labels,
            run_words=RUN_WORDS,
            choice_words=CHOICE_WORDS,
            zone=rt.protocol.sites[0].timezone,
            zones={s.code: s.timezone for s in rt.protocol.sites},
            flash=SAVED.get(saved or ""),
        )

    @post("/conflicts/{conflict_id:int}/resolve", status_code=303)
    async def resolve(
        self,
        rt: Runtime,
        viewer: Viewer,
        request: Request[Any, Any, Any],
        conflict_id: FromPath[int],
    ) -> Redirect:
        require_writer(viewer)

        async def act(v: dict[str, str]) -> str:
            await resolve_conflict(rt, viewer.actor, conflict_id, v["choice"], v["reason"])
            return v["choice"]

        return await run_form(
            request, back=PAGE, form=f"conflict:{conflict_id}", fields=("choice", "reason"),
            action=act, messages=MESSAGES,
        )  # fmt: skip
