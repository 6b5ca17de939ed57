"""The mobile app's API: sign in with an SMS code, then only ``/me``.

There is no study id anywhere in these paths: every route reads the participant
from the bearer token, so a token can open its owner's data and nothing else (a
staff route refuses a participant token with 403, ``provide_staff``). App
check-ins go through the same ``submit_checkin`` as SMS conversations, so they
become the same records, judged by the same safety rules, with channel ``app``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide

from service.actions.actors import Actor
from service.actions.calendars import calendar_with_status
from service.actions.errors import FieldInvalid, NotFound
from service.actions.mobile_auth import request_code, verify_code
from service.actions.preferences import own_participant, update_own_preferences
from service.actions.rendering import render_text
from service.db.models import CheckIn, Participant, Site
from service.domain.checkins import PregnancyAnswer, ReportedSymptom, Severity, SymptomAnswers
from service.runtime import Runtime
from service.web.auth import provide_participant, provide_runtime
from service.web.presenters import calendar_out
from service.web.schemas import CalendarOut, TokenResponse
from service.web.schemas_mobile import (
    AcceptedOut,
    CheckinOut,
    CheckinResultOut,
    CodeRequestIn,
    CodeVerifyIn,
    DueCheckinOut,
    MeOut,
    MyCheckinsOut,
    PregnancyCheckinIn,
    PreferencesIn,
    PreferencesOut,
    SymptomsCheckinIn,
)



def _checkins() -> Any:
    # TEMPORARY while service/actions/checkins.py is being written in parallel.
    from service.actions import checkins  # type: ignore[attr-defined]

    return checkins


SYMPTOMS: Final = "symptoms"
PREGNANCY: Final = "pregnancy"


class MobileAuthController(Controller):
    path = "/api/v1/mobile/auth"
    tags = ["mobile"]
    dependencies = {"rt": Provide(provide_runtime)}

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
            background=BackgroundTask(request_code, rt, data.phone, ip),
        )

    @post("/verify", summary="Exchange the code for a participant bearer token", status_code=200)
    async def verify(self, rt: Runtime, data: CodeVerifyIn) -> TokenResponse:
        return TokenResponse(access_token=await verify_code(rt, data.phone, data.code))


def _me(participant: Participant, site: Site) -> MeOut:
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


def _checkin_out(row: CheckIn) -> CheckinOut:
    return CheckinOut(
        checkin_key=row.checkin_key,
        questionnaire=row.questionnaire,
        channel=row.channel,
        version=row.version,
        answers=row.answers,
        complete=row.complete,
        late=row.late,
        submitted_at=row.submitted_at,
    )


def _preferences(participant: Participant) -> PreferencesOut:
    return PreferencesOut(
        language=participant.language,
        preferred_time=participant.preferred_time,
        paused=participant.paused,
    )


async def _latest_checkins(participant: Participant) -> list[CheckIn]:
    """Newest version of each check-in, newest first (corrections are new versions)."""
    rows = await CheckIn.filter(participant_id=participant.id).order_by("-submitted_at", "-id")
    seen: set[str] = set()
    latest = []
    for row in rows:
        if row.checkin_key not in seen:
            seen.add(row.checkin_key)
            latest.append(row)
    return latest


async def _answerable(
    rt: Runtime, participant: Participant, key: str, questionnaire: str
) -> bool:
    """Whether ``key`` may be answered now; returns ``late``. Unknown keys are a 404."""
    for due in await _checkins().due_checkins(rt, participant):
        if due.checkin_key == key:
            _same_questionnaire(due.questionnaire, questionnaire)
            return False
    for expired in await _checkins().recently_expired_checkins(rt, participant):
        if expired.checkin_key == key:
            _same_questionnaire(expired.questionnaire, questionnaire)
            return True
    raise NotFound(f"checkin_key {key!r} is not a check-in of yours that can be answered")


def _same_questionnaire(actual: object, wanted: str) -> None:
    if str(getattr(actual, "value", actual)) != wanted:
        raise FieldInvalid(f"checkin_key is not a {wanted} check-in", field="checkin_key")


def _symptom_answers(rt: Runtime, data: SymptomsCheckinIn) -> SymptomAnswers:
    """Validate against the protocol's symptom list (the SMS path checks the same)."""
    known = {symptom.code: symptom for symptom in rt.protocol.symptoms}
    reported: list[ReportedSymptom] = []
    for index, item in enumerate(data.symptoms):
        where = f"symptoms[{index}]"
        symptom = known.get(item.code)
        if symptom is None:
            raise FieldInvalid(f"{where}.code {item.code!r} is not a known symptom", field=where)
        if any(r.code == item.code for r in reported):
            raise FieldInvalid(f"{where}.code {item.code!r} is listed twice", field=where)
        if item.temperature_c is not None and not symptom.asks_temperature:
            raise FieldInvalid(
                f"{where}.temperature_c is only asked for {item.code!r} when it is fever",
                field=f"{where}.temperature_c",
            )
        reported.append(ReportedSymptom(item.code, Severity(item.severity), item.temperature_c))
    return SymptomAnswers(symptoms=tuple(reported), complete=True)


class MobileController(Controller):
    path = "/api/v1/mobile/me"
    tags = ["mobile"]
    dependencies = {"actor": Provide(provide_participant), "rt": Provide(provide_runtime)}
    security = [{"bearer": []}]

    @get("/", summary="The signed-in participant (never the treatment arm)")
    async def me(self, actor: Actor) -> MeOut:
        participant = await own_participant(actor)
        return _me(participant, await Site.get(code=participant.site_id))  # type: ignore[attr-defined]  # FK id attr

    @get("/calendar", summary="My visit calendar, in my language")
    async def calendar(self, rt: Runtime, actor: Actor) -> CalendarOut:
        participant = await own_participant(actor)
        rows = await calendar_with_status(rt, participant)
        return calendar_out(rt, participant, rows, participant.language)

    @get("/checkins", summary="Check-ins due now, and the ones I sent")
    async def checkins(self, rt: Runtime, actor: Actor) -> MyCheckinsOut:
        participant = await own_participant(actor)
        submitted = await _latest_checkins(participant)
        answered = {row.checkin_key for row in submitted}
        due = [
            DueCheckinOut(
                checkin_key=item.checkin_key,
                questionnaire=str(getattr(item.questionnaire, "value", item.questionnaire)),
                due_at=item.due_at,
                expires_at=item.expires_at,
            )
            for item in await _checkins().due_checkins(rt, participant)
            if item.checkin_key not in answered
        ]
        return MyCheckinsOut(due=due, submitted=[_checkin_out(row) for row in submitted])

    @post("/checkins/symptoms", summary="Answer a symptoms check-in", status_code=201)
    async def symptoms(
        self, rt: Runtime, actor: Actor, data: SymptomsCheckinIn
    ) -> CheckinResultOut:
        participant = await own_participant(actor)
        answers = _symptom_answers(rt, data)
        late = await _answerable(rt, participant, data.checkin_key, SYMPTOMS)
        return await _submit(rt, participant, data, SYMPTOMS, answers, late)

    @post("/checkins/pregnancy", summary="Answer a pregnancy check-in", status_code=201)
    async def pregnancy(
        self, rt: Runtime, actor: Actor, data: PregnancyCheckinIn
    ) -> CheckinResultOut:
        participant = await own_participant(actor)
        late = await _answerable(rt, participant, data.checkin_key, PREGNANCY)
        answer = PregnancyAnswer(pregnant=data.pregnant)
        return await _submit(rt, participant, data, PREGNANCY, answer, late)

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
    participant: Participant,
    data: SymptomsCheckinIn | PregnancyCheckinIn,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
    late: bool,
) -> CheckinResultOut:
    result = await _checkins().submit_checkin(
        rt,
        participant,
        checkin_key=data.checkin_key,
        questionnaire=questionnaire,
        channel="app",
        answers=answers,
        raw_texts=[msgspec.json.encode(data).decode()],
        late=late,
        actor_label=f"participant:{participant.study_id}",
    )
    advice = None
    if result.advice:
        site = await Site.get(code=participant.site_id)  # type: ignore[attr-defined]  # FK id attr
        advice = render_text(rt, result.advice, participant.language, {}, site).text
    return CheckinResultOut(
        checkin=_checkin_out(result.checkin),
        alert_raised=result.alert is not None,
        advice_key=result.advice,
        advice=advice,
    )
