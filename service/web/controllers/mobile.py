"""The mobile app's API: sign in with an SMS code, then only ``/me``.

There is no study id anywhere in these paths: every route reads the participant
from the bearer token, so a token can open its owner's data and nothing else (a
staff route refuses a participant token with 403, ``provide_staff``). App
check-ins are the check-ins package's app use case (``submit_from_app``), which
goes through the same ``submit`` as SMS conversations.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide

from service.actions import access
from service.actions.calendars import calendar_with_status
from service.actions.checkins import (
    AppCheckin,
    due_checkins,
    latest_checkins,
    questionnaire_for,
    submit_from_app,
)
from service.actions.participants import (
    OPT_IN_STATEMENT,
    ParticipantProfile,
    SiteRecord,
    own_participant,
    participant_profile,
    site_record,
    update_own_preferences,
)
from service.domain.actors import Actor
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
    QuestionnairesOut,
    SeverityOut,
    SymptomChoiceOut,
    SymptomsCheckinIn,
    TemperatureRuleOut,
)
from service.web.schemas.participants import CalendarOut
from service.web.schemas.staff import TokenResponse

SYMPTOMS: Final = "symptoms"
PREGNANCY: Final = "pregnancy"


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
            background=BackgroundTask(access.request_code, rt, data.phone, ip),
        )

    @post("/verify", summary="Exchange the code for a participant bearer token", status_code=200)
    async def verify(self, rt: Runtime, data: CodeVerifyIn) -> TokenResponse:
        token = await access.verify_code(rt, data.phone, data.code)
        # Sliding: this long if unused; every use extends it (docs/api.md).
        return TokenResponse(
            access_token=token, expires_in=int(access.SESSION_IDLE.total_seconds())
        )


def _me(participant: ParticipantProfile, site: SiteRecord) -> MeOut:
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
    """A stored check-in version as the app shows it."""
    return msgspec.convert(row, CheckinOut, from_attributes=True)


def _preferences(rt: Runtime, participant: ParticipantProfile) -> PreferencesOut:
    return PreferencesOut(
        language=participant.language,
        preferred_time=participant.preferred_time,
        paused=participant.paused,
        channel=participant.channel,
        whatsapp_opt_in_at=participant.whatsapp_opt_in_at,
        whatsapp_opt_in_text=rt.translator.render(OPT_IN_STATEMENT, participant.language),
    )


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
        profile = participant_profile(await own_participant(actor))
        return _me(profile, await site_record(profile.site))

    @get("/calendar", summary="My visit calendar, in my language")
    async def calendar(self, rt: Runtime, actor: Actor) -> CalendarOut:
        participant = await own_participant(actor)
        rows = await calendar_with_status(rt, participant)
        return calendar_out(rt, participant.study_id, rows, participant.language)

    @get("/questionnaires", summary="What I can report, in my language, from the protocol")
    async def questionnaires(self, rt: Runtime, actor: Actor) -> QuestionnairesOut:
        found = questionnaire_for(rt, await own_participant(actor))
        return QuestionnairesOut(
            symptoms=[
                msgspec.convert(item, SymptomChoiceOut, from_attributes=True)
                for item in found.symptoms
            ],
            severities=[SeverityOut(code=code, label=label) for code, label in found.severities],
            temperature=TemperatureRuleOut(threshold_c=found.fever_threshold_c),
            pregnancy=found.pregnancy,
        )

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
            for item in await due_checkins(rt, participant)
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
        return await _submit(rt, actor, data, SYMPTOMS, _symptom_answers(data))

    @post(
        "/checkins/pregnancy",
        summary="Answer a pregnancy check-in, or report a pregnancy at any time",
        status_code=201,
    )
    async def pregnancy(
        self, rt: Runtime, actor: Actor, data: PregnancyCheckinIn
    ) -> CheckinResultOut:
        return await _submit(rt, actor, data, PREGNANCY, PregnancyAnswer(pregnant=data.pregnant))

    @get("/preferences", summary="My language, preferred time, pause and channel")
    async def preferences(self, rt: Runtime, actor: Actor) -> PreferencesOut:
        return _preferences(rt, participant_profile(await own_participant(actor)))

    @put("/preferences", summary="Change my language, preferred time, pause or channel")
    async def set_preferences(
        self, rt: Runtime, actor: Actor, data: PreferencesIn
    ) -> PreferencesOut:
        changes = msgspec.structs.asdict(data)
        participant = await update_own_preferences(rt, actor, changes)
        return _preferences(rt, participant_profile(participant))


async def _submit(
    rt: Runtime,
    actor: Actor,
    data: SymptomsCheckinIn | PregnancyCheckinIn,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
) -> CheckinResultOut:
    """The app check-in use case (``checkins.submit_from_app``) with the body as sent."""
    done: AppCheckin = await submit_from_app(
        rt,
        actor,
        questionnaire=questionnaire,
        answers=answers,
        checkin_key=data.checkin_key,
        body=msgspec.json.encode(data),
        client_submission_id=data.client_submission_id,
    )
    return CheckinResultOut(
        checkin=_checkin_out(done.checkin),
        alert_raised=done.alert_raised,
        advice_key=done.advice_key,
        advice=done.advice,
    )
