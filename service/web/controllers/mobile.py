"""The mobile app's API: sign in with an SMS code, then only ``/me``.

There is no study id anywhere in these paths: every route reads the participant
from the bearer token, so a token can open its owner's data and nothing else (a
staff route refuses a participant token with 403, ``provide_staff``). App
check-ins go through the same ``checkins.submit`` as SMS conversations, so they
become the same records, judged by the same safety rules, with channel ``app``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide

from service.actions import checkins as checkin_actions
from service.actions import mobile_auth
from service.actions.actors import Actor
from service.actions.calendars import calendar_with_status
from service.actions.due_checkins import answer_is_late
from service.actions.preferences import own_participant, update_own_preferences
from service.actions.rendering import render_for_participant
from service.actions.reports import app_report_key
from service.db.queries import SiteRecord, latest_checkins, site_record
from service.domain.checkin_answers import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
)
from service.runtime import Runtime
from service.web.auth import provide_participant
from service.web.presenters import calendar_out
from service.web.schemas.mobile import (
    AcceptedOut,
    CheckinOut,
    CheckinResultOut,
    CodeRequestIn,
    CodeVerifyIn,
    DueCheckinOut,
    MeOut,
    MyCheckinsOut,
    PreferencesIn,
    PreferencesOut,
    PregnancyCheckinIn,
    SymptomsCheckinIn,
)
from service.web.schemas.participants import CalendarOut
from service.web.schemas.staff import TokenResponse

SYMPTOMS: Final = "symptoms"
PREGNANCY: Final = "pregnancy"
# A participant row as the actions return it (``own_participant``): read, never
# written here, and typed loosely so the web layer does not import the models.
ParticipantRow = Any


class MobileAuthController(Controller):
    path = "/api/v1/mobile/auth"
    tags = ["mobile"]

    @post(
        "/request-code",
        summary="Text a one-time sign-in code (202 for any number)",
        status_code=202,
    )
    async def request_code(
        self, rt: Runtime, request: Request[Any, Any, Any], data: CodeRequestIn
    ) -> Response[AcceptedOut]:
        # The work runs after the response has gone: same body, same status and the
        # same time for every number, so the route cannot be used to test numbers.
        ip = request.client.host if request.client else None
        return Response(
            AcceptedOut(),
            status_code=202,
            background=BackgroundTask(mobile_auth.request_code, rt, data.phone, ip),
        )

    @post("/verify", summary="Exchange the code for a participant bearer token", status_code=200)
    async def verify(self, rt: Runtime, data: CodeVerifyIn) -> TokenResponse:
        return TokenResponse(access_token=await mobile_auth.verify_code(rt, data.phone, data.code))


def _me(participant: ParticipantRow, site: SiteRecord) -> MeOut:
    return MeOut(
        study_id=participant.study_id,
        site=site.code,
        site_name=site.name,
        help_line=site.help_line,
        language=participant.language,
        timezone=participant.timezone,
        preferred_time=participant.preferred_time,
        paused=participant.paused,
        sms_consent=participant.sms_consent,
        status=participant.status,
    )


def _checkin_out(row: object) -> CheckinOut:
    """A check-in row or version (same field names) as the app shows it."""
    return msgspec.convert(row, CheckinOut, from_attributes=True)


def _preferences(participant: ParticipantRow) -> PreferencesOut:
    return msgspec.convert(participant, PreferencesOut, from_attributes=True)


async def _key_and_lateness(
    rt: Runtime,
    participant: ParticipantRow,
    data: SymptomsCheckinIn | PregnancyCheckinIn,
    kind: str,
) -> tuple[str, bool]:
    """The check-in key answered and whether late; without ``checkin_key`` the body is a
    report made at any time (``service.actions.reports``), never late."""
    if data.checkin_key is None:
        return app_report_key(kind, rt.clock.now(), msgspec.json.encode(data)), False
    return data.checkin_key, await answer_is_late(rt, participant, data.checkin_key, kind)


def _symptom_answers(data: SymptomsCheckinIn) -> SymptomAnswers:
    """The app's body as domain answers; codes, duplicates and temperatures are
    checked by ``checkins.submit`` exactly as for SMS answers."""
    return SymptomAnswers(
        symptoms=tuple(
            ReportedSymptom(item.code, Severity(item.severity), item.temperature_c)
            for item in data.symptoms
        ),
        complete=True,
    )


class MobileController(Controller):
    path = "/api/v1/mobile/me"
    tags = ["mobile"]
    dependencies = {"actor": Provide(provide_participant)}
    security = [{"bearer": []}]

    @get("/", summary="The signed-in participant (never the treatment arm)")
    async def me(self, actor: Actor) -> MeOut:
        participant = await own_participant(actor)
        return _me(participant, await site_record(participant.site_id))  # type: ignore[attr-defined]  # FK id attr

    @get("/calendar", summary="My visit calendar, in my language")
    async def calendar(self, rt: Runtime, actor: Actor) -> CalendarOut:
        participant = await own_participant(actor)
        rows = await calendar_with_status(rt, participant)
        return calendar_out(rt, participant, rows, participant.language)

    @get("/checkins", summary="Check-ins due now, and the ones I sent")
    async def checkins(self, rt: Runtime, actor: Actor) -> MyCheckinsOut:
        participant = await own_participant(actor)
        due = [
            DueCheckinOut(
                checkin_key=item.checkin_key,
                questionnaire=item.questionnaire,
                due_at=item.due_at,
                expires_at=item.expires_at,
            )
            for item in await checkin_actions.due_checkins(rt, participant)
        ]
        submitted = [_checkin_out(row) for row in await latest_checkins(participant.id)]
        return MyCheckinsOut(due=due, submitted=submitted)

    @post(
        "/checkins/symptoms",
        summary="Answer a symptoms check-in, or report symptoms at any time",
        status_code=201,
    )
    async def symptoms(
        self, rt: Runtime, actor: Actor, data: SymptomsCheckinIn
    ) -> CheckinResultOut:
        participant = await own_participant(actor)
        answers = _symptom_answers(data)
        key, late = await _key_and_lateness(rt, participant, data, SYMPTOMS)
        return await _submit(rt, participant, data, key, SYMPTOMS, answers, late)

    @post(
        "/checkins/pregnancy",
        summary="Answer a pregnancy check-in, or report a pregnancy at any time",
        status_code=201,
    )
    async def pregnancy(
        self, rt: Runtime, actor: Actor, data: PregnancyCheckinIn
    ) -> CheckinResultOut:
        participant = await own_participant(actor)
        key, late = await _key_and_lateness(rt, participant, data, PREGNANCY)
        answer = PregnancyAnswer(pregnant=data.pregnant)
        return await _submit(rt, participant, data, key, PREGNANCY, answer, late)

    @get("/preferences", summary="My language, preferred time and pause")
    async def preferences(self, actor: Actor) -> PreferencesOut:
        return _preferences(await own_participant(actor))

    @put("/preferences", summary="Change my language, preferred time or pause")
    async def set_preferences(
        self, rt: Runtime, actor: Actor, data: PreferencesIn
    ) -> PreferencesOut:
        changes = msgspec.structs.asdict(data)
        return _preferences(await update_own_preferences(rt, actor, changes))


async def _submit(
    rt: Runtime,
    participant: ParticipantRow,
    data: SymptomsCheckinIn | PregnancyCheckinIn,
    checkin_key: str,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
    late: bool,
) -> CheckinResultOut:
    result = await checkin_actions.submit(
        rt,
        participant,
        checkin_actions.CheckinSubmission(
            checkin_key=checkin_key,
            questionnaire=questionnaire,
            channel="app",
            answers=answers,
            raw_texts=[msgspec.json.encode(data).decode()],
            late=late,
            actor_label=f"participant:{participant.study_id}",
        ),
    )
    advice = None
    if result.advice:
        advice = await render_for_participant(rt, participant, result.advice)
    return CheckinResultOut(
        checkin=_checkin_out(result.checkin),
        alert_raised=result.alert is not None,
        advice_key=result.advice,
        advice=advice,
    )
