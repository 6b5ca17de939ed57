"""The participant page's forms: visit outcome, infusion date, pause, withdrawal,
contact details, the channel (SMS or WhatsApp, with the opt-in), lifting a blocked
number. Each goes through the same action as the API (``service.actions.participants``),
which validates, writes and audits in one transaction; a refusal re-renders the page
with the message beside the field.

Order of checks on every POST: the router's CSRF guard (403, nothing read), then
the writer check (monitors: 403), then the form's shape (unknown or repeated
fields: 400), then the values. Statuses: 400 for a value that cannot be read (no
date, an unknown choice), 422 for one read but refused as implausible (a visit
in the future), 409 for a conflict with what is recorded (a phone of another
participant, a withdrawn participant). Success: 303 back to the page with
``?saved=…`` (post/redirect/get), which shows the confirmation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from service.actions import participants as act
from service.actions.errors import ActionError, Conflict
from service.actions.views import participant_page
from service.runtime import Runtime
from service.web.dashboard import participant_words as words
from service.web.dashboard.forms import read_form
from service.web.dashboard.participant_page import page_response
from service.web.dashboard.session import Viewer, require_writer

WITHDRAW_REASON_MAX = 500


class FormRefused(Exception):
    """A field the coordinator must correct: (field, message msgid, HTTP status)."""

    def __init__(self, field: str, message: str, status_code: int = 400) -> None:
        super().__init__(field)
        self.field, self.message, self.status_code = field, message, status_code


def _date(value: str, field: str = "date") -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormRefused(field, words.UNREADABLE_DATE) from None


def _choice(form: str, field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise FormRefused(field, words.FIELD_ERRORS[(form, field)])
    return value


def _done(study_id: str, saved: str) -> Redirect:
    return Redirect(f"/dashboard/participants/{study_id}?saved={saved}", status_code=303)


async def _handle(
    rt: Runtime,
    viewer: Viewer,
    request: Request[Any, Any, Any],
    study_id: str,
    form: str,
    fields: tuple[str, ...],
    act_on: Callable[[dict[str, str]], Awaitable[str]],
) -> Redirect | Template:
    """Run one form: check the writer and the fields, call the action, redirect; on a
    refusal, the page again with the message beside the field."""
    require_writer(viewer)
    values = await read_form(request, fields)
    try:
        saved = await act_on(values)
    except FormRefused as refused:
        field, message, status = refused.field, refused.message, refused.status_code
    except Conflict as exc:
        field = exc.field if exc.field in fields else "form"
        message = words.PHONE_TAKEN if exc.field == "phone" else words.WITHDRAWN_ALREADY
        message = words.CANNOT_UNBLOCK if form == "unblock" else message
        status = 409
    except ActionError as exc:
        if exc.status_code != 400 or exc.field is None:
            raise  # 403/404: the dashboard's error page, nothing changed
        field = exc.field if exc.field in fields else "form"
        message = words.FIELD_ERRORS.get((form, field), words.FORM_PROBLEM)
        status = 422  # read, but refused as implausible
    else:
        return _done(study_id, saved)
    data = await participant_page(rt, viewer.actor, study_id, locale=viewer.locale)
    return page_response(
        rt,
        viewer,
        data,
        status_code=status,
        form=form,
        errors={field: message},
        values=values,
        flash=words.FORM_PROBLEM,
    )


class ParticipantFormsController(Controller):
    path = "/dashboard/participants/{study_id:str}"
    include_in_schema = False

    @post("/visit", status_code=303)
    async def visit(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            codes = tuple(visit.code for visit in rt.protocol.visits)
            code = _choice("visit", "visit_code", v["visit_code"], codes)
            status = _choice("visit", "status", v["status"], ("attended", "missed"))
            when = _date(v["date"])
            await act.record_visit_outcome(rt, viewer.actor, study_id, code, status, when)
            return "visit"

        return await _handle(
            rt, viewer, request, study_id, "visit", ("visit_code", "status", "date"), record
        )

    @post("/infusion", status_code=303)
    async def infusion(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            number = int(_choice("infusion", "number", v["number"], ("1", "2")))
            await act.record_infusion(rt, viewer.actor, study_id, number, _date(v["date"]))
            return "infusion"

        return await _handle(rt, viewer, request, study_id, "infusion", ("number", "date"), record)

    @post("/pause", status_code=303)
    async def pause(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            paused = _choice("pause", "paused", v["paused"], ("yes", "no")) == "yes"
            await act.update_participant(rt, viewer.actor, study_id, {"paused": paused})
            return "paused" if paused else "resumed"

        return await _handle(rt, viewer, request, study_id, "pause", ("paused",), record)

    @post("/withdraw", status_code=303)
    async def withdraw(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            reason = _required_reason(v, "withdraw")
            await act.withdraw(rt, viewer.actor, study_id, reason)
            return "withdrawn"

        return await _handle(rt, viewer, request, study_id, "withdraw", ("reason",), record)

    @post("/unblock", status_code=303)
    async def unblock(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            reason = _required_reason(v, "unblock")
            await act.lift_sms_block(rt, viewer.actor, study_id, reason)
            return "unblocked"

        return await _handle(rt, viewer, request, study_id, "unblock", ("reason",), record)

    @post("/contact", status_code=303)
    async def contact(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            if not v["phone"].strip():
                raise FormRefused("phone", words.FIELD_ERRORS[("contact", "phone")])
            language = _choice("contact", "language", v["language"], ("es", "en"))
            changes: dict[str, Any] = {
                "phone": v["phone"].strip(),
                "language": language,
                "preferred_time": v["preferred_time"].strip() or None,
            }
            await act.update_participant(rt, viewer.actor, study_id, changes)
            return "contact"

        return await _handle(
            rt,
            viewer,
            request,
            study_id,
            "contact",
            ("phone", "language", "preferred_time"),
            record,
        )

    @post("/channel", status_code=303)
    async def channel(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect | Template:
        async def record(v: dict[str, str]) -> str:
            channel = _choice("channel", "channel", v["channel"], ("sms", "whatsapp"))
            method = _choice(
                "channel", "whatsapp_opt_in", v["whatsapp_opt_in"], ("", "written", "verbal")
            )
            changes: dict[str, Any] = {"channel": channel}
            if method:
                changes["whatsapp_opt_in"] = act.OptIn(method)
            await act.update_participant(rt, viewer.actor, study_id, changes)
            return "channel"

        return await _handle(
            rt, viewer, request, study_id, "channel", ("channel", "whatsapp_opt_in"), record
        )


def _required_reason(values: dict[str, str], form: str) -> str:
    """Withdrawing and lifting a block are audited with the coordinator's reason: it
    must be there, and fit the audit record."""
    reason = values["reason"].strip()
    if not reason or len(reason) > WITHDRAW_REASON_MAX:
        raise FormRefused("reason", words.FIELD_ERRORS[(form, "reason")])
    return reason
