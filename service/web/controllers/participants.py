"""Staff routes for participants: thin, every decision lives in actions/."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from service.actions import participants as act
from service.actions.access import participant_for
from service.actions.calendars import calendar_sequences, calendar_with_status
from service.actions.participants import participant_record
from service.actions.views import participants_page
from service.domain.actors import Actor
from service.domain.languages import DEFAULT_LANGUAGE, LANGUAGE_PATTERN
from service.domain.paging import DEFAULT_LIMIT
from service.domain.states import ParticipantStatus
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.ics import calendar_ics
from service.web.paging import LINK_HEADER, Cursor, Limit, paged
from service.web.presenters import calendar_out, participant_out
from service.web.schemas.participants import (
    CalendarOut,
    EnrollIn,
    InfusionIn,
    ParticipantOut,
    ParticipantPatch,
    VisitOutcomeIn,
    VisitOutcomeOut,
    WhatsAppOptInIn,
    WithdrawIn,
)

Lang = Annotated[str, Parameter(pattern=LANGUAGE_PATTERN)]
# A stored status only: the column holds ParticipantStatus, and an unknown value is a
# 400 naming the parameter, not a lookup the database cannot answer.
_STATUS = f"^({'|'.join(ParticipantStatus)})$"


def _opt_in(body: WhatsAppOptInIn | None) -> act.OptIn | None:
    return None if body is None else act.OptIn(method=body.method, at=body.at)


class ParticipantController(Controller):
    path = "/api/v1/participants"
    tags = ["participants"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @post("/", summary="Enrol a participant", status_code=201)
    async def enroll(self, rt: Runtime, actor: Actor, data: EnrollIn) -> ParticipantOut:
        fields = msgspec.structs.asdict(data)
        fields["whatsapp_opt_in"] = _opt_in(data.whatsapp_opt_in)
        participant = await act.enroll(rt, actor, act.EnrollmentRequest(**fields))
        await participant.fetch_related("site")
        return participant_out(participant_record(participant))

    @get(
        "/",
        summary="Participants of the caller's sites, by study id, a page at a time",
        response_headers=[LINK_HEADER],
    )
    async def list_participants(
        self,
        request: Request,
        actor: Actor,
        site: Annotated[str | None, Parameter()] = None,
        status: Annotated[str | None, Parameter(pattern=_STATUS)] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[list[ParticipantOut]]:
        page = await participants_page(actor, site=site, status=status, limit=limit, cursor=cursor)
        items = [participant_out(participant_record(p)) for p in page.items]
        return paged(request, items, page.next_cursor)

    @get("/{study_id:str}", summary="One participant")
    async def read(self, actor: Actor, study_id: FromPath[str]) -> ParticipantOut:
        return participant_out(participant_record(await participant_for(actor, study_id)))

    @patch("/{study_id:str}", summary="Change contact details and preferences")
    async def update(
        self, rt: Runtime, actor: Actor, study_id: FromPath[str], data: ParticipantPatch
    ) -> ParticipantOut:
        changes = {
            k: v
            for k, v in msgspec.structs.asdict(data).items()
            if v is not msgspec.UNSET and k != "reason"
        }
        if "whatsapp_opt_in" in changes:
            changes["whatsapp_opt_in"] = _opt_in(changes["whatsapp_opt_in"])
        participant = await act.update_participant(rt, actor, study_id, changes, data.reason)
        return participant_out(participant_record(participant))

    @post("/{study_id:str}/infusions", summary="Record an actual infusion date", status_code=201)
    async def record_infusion(
        self,
        rt: Runtime,
        actor: Actor,
        study_id: FromPath[str],
        data: InfusionIn,
        lang: Lang = DEFAULT_LANGUAGE,
    ) -> CalendarOut:
        participant = await act.record_infusion(
            rt, actor, study_id, data.number, data.date, data.reason
        )
        rows = await calendar_with_status(rt, participant)
        return calendar_out(rt, participant.study_id, rows, lang)

    @put("/{study_id:str}/visits/{visit_code:str}", summary="Record what happened at a visit")
    async def record_visit(
        self,
        rt: Runtime,
        actor: Actor,
        study_id: FromPath[str],
        visit_code: FromPath[str],
        data: VisitOutcomeIn,
    ) -> VisitOutcomeOut:
        outcome = await act.record_visit_outcome(
            rt, actor, study_id, visit_code, data.status, data.date, data.reason
        )
        return VisitOutcomeOut(
            visit_code=outcome.visit_code,
            status=outcome.status,
            date=outcome.date,
            recorded_by=outcome.recorded_by,
            recorded_at=outcome.recorded_at,
        )

    @post(
        "/{study_id:str}/withdraw", summary="End follow-up; nothing more is sent", status_code=200
    )
    async def withdraw(
        self, rt: Runtime, actor: Actor, study_id: FromPath[str], data: WithdrawIn | None = None
    ) -> ParticipantOut:
        reason = data.reason if data else None
        return participant_out(participant_record(await act.withdraw(rt, actor, study_id, reason)))

    @get("/{study_id:str}/calendar", summary="Visit calendar with windows and statuses")
    async def calendar(
        self, rt: Runtime, actor: Actor, study_id: FromPath[str], lang: Lang = DEFAULT_LANGUAGE
    ) -> CalendarOut:
        participant = await participant_for(actor, study_id)
        rows = await calendar_with_status(rt, participant)
        return calendar_out(rt, participant.study_id, rows, lang)

    @get(
        "/{study_id:str}/calendar.ics",
        summary="Visit calendar as iCalendar (RFC 5545)",
        media_type="text/calendar",
    )
    async def calendar_ics(
        self, rt: Runtime, actor: Actor, study_id: FromPath[str], lang: Lang = DEFAULT_LANGUAGE
    ) -> Response[bytes]:
        participant = await participant_for(actor, study_id)
        rows = await calendar_with_status(rt, participant)
        names = {row.visit.code: rt.translator.render(row.visit.name_key, lang) for row in rows}
        sequences = await calendar_sequences(rt, participant)
        body = calendar_ics(
            participant.study_id, rows, names, stamp=rt.clock.now(), sequences=sequences
        )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="msc-role-{study_id}.ics"'},
        )
