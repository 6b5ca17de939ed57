"""The participant web app's pages: sign in with an SMS code, the next visit, sign out.

Signing in is the API's own use case (``access.request_code`` / ``verify_code``): the
same one-time codes, limits and no-enumeration rule. The code is asked for after the
page has answered, and the page says the same for every number. The phone travels in
the form's body, never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from service.actions import access
from service.actions.calendars import calendar_sequences, calendar_with_status
from service.actions.checkins import due_checkins
from service.actions.errors import ActionError
from service.actions.participants import own_participant, site_record
from service.domain.actors import Actor
from service.domain.calendar import VisitStatus
from service.runtime import Runtime
from service.web.app.session import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    cookie,
    current_participant,
    render,
)
from service.web.error_codes import ERROR_CODES, error_code
from service.web.ics import calendar_ics

PHONE_MAX: Final = 32
CODE_MAX: Final = 16
_OPEN: Final = (VisitStatus.UPCOMING, VisitStatus.DUE)


@dataclass(frozen=True, slots=True)
class NextVisit:
    name: str
    kind: str  # clinic | call | infusion
    target_date: date
    window_start: date
    window_end: date
    site_name: str
    site_phone: str


async def _field(request: Request[Any, Any, Any], name: str, limit: int) -> str:
    value = (await request.form()).get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


async def next_visit(rt: Runtime, actor: Actor) -> NextVisit | None:
    participant = await own_participant(actor)
    site = await site_record(participant.site_id)
    for row in await calendar_with_status(rt, participant):
        if row.status in _OPEN:
            visit = row.visit
            return NextVisit(
                name=rt.translator.render(visit.name_key, participant.language),
                kind=visit.kind.value,
                target_date=visit.target_date,
                window_start=visit.window_start,
                window_end=visit.window_end,
                site_name=site.name,
                site_phone=site.help_line,
            )
    return None


class AppPagesController(Controller):
    path = "/app"
    include_in_schema = False

    @get("/")
    async def home(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template:
        actor = await current_participant(request)
        if actor is None:
            return render(request, "app/sign_in.html", actor=None, phone="")
        participant = await own_participant(actor)
        return render(
            request,
            "app/home.html",
            actor=actor,
            visit=await next_visit(rt, actor),
            due=await due_checkins(rt, participant),
            help_line=(await site_record(participant.site_id)).help_line,
        )

    @post("/code", status_code=200)
    async def send_code(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template:
        phone = await _field(request, "phone", PHONE_MAX)
        if not phone:
            return render(
                request,
                "app/sign_in.html",
                actor=None,
                phone="",
                error=ERROR_CODES["invalid_request"].words,
                status_code=400,
            )
        ip = request.client.host if request.client else None
        page = render(request, "app/code.html", actor=None, phone=phone)
        # As the API: the same page for every number, the work after it has gone.
        page.background = BackgroundTask(access.request_code, rt, phone, ip)
        return page

    @post("/verify", status_code=303)
    async def verify(self, rt: Runtime, request: Request[Any, Any, Any]) -> Response[Any]:
        phone = await _field(request, "phone", PHONE_MAX)
        code = await _field(request, "code", CODE_MAX)
        try:
            token = await access.verify_code(rt, phone, code)
        except ActionError as exc:
            words = ERROR_CODES[error_code(exc.status_code, exc.code)].words
            return render(
                request, "app/code.html", actor=None, phone=phone, error=words, status_code=400
            )
        response: Redirect = Redirect("/app", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(cookie(request, SESSION_COOKIE, token))
        return response

    @post("/logout", status_code=303)
    async def logout(self, rt: Runtime, request: Request[Any, Any, Any]) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            await access.end_participant_session(rt, token)
        response = Redirect("/app", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/calendar.ics", media_type="text/calendar")
    async def calendar(self, rt: Runtime, request: Request[Any, Any, Any]) -> Response[Any]:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        participant = await own_participant(actor)
        rows = await calendar_with_status(rt, participant)
        language = participant.language
        names = {row.visit.code: rt.translator.render(row.visit.name_key, language) for row in rows}
        body = calendar_ics(
            participant.study_id,
            rows,
            names,
            stamp=rt.clock.now(),
            sequences=await calendar_sequences(rt, participant),
        )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="msc-role-visitas.ics"',
                "Cache-Control": "no-store",
            },
        )
