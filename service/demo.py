"""Fictitious participants at different points of follow-up, for `followup serve --demo`.

Demo data is refused unless SMS goes to the console: the demo numbers are made up,
and made-up numbers belong to real people.

The dashboard needs history to show anything, and history must be what the service
itself would have written, so nothing here inserts rows by hand. The demo winds a
clock of its own back ``HISTORY_DAYS`` days, enrols everybody then, and runs the
dispatcher and the alert job every few hours of demo time up to now through the normal actions:
reminders and check-in prompts go out (the console "delivers" them), one participant's
number turns out to be a landline (Twilio's 30006, as a gateway wrapper answers for
that one number) and is blocked, a participant reports a fever (an open alert, texted
to the site's on-call phone), another texts something the service cannot place (an
inbox item). Back at the present, visits whose window has closed are recorded as
attended, but for one recorded as missed.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from service.actions.access import add_staff_user
from service.actions.alerts import escalation_job
from service.actions.calendars import calendar_for
from service.actions.checkins import CheckinSubmission, submit
from service.actions.inbound import handle_inbound
from service.actions.outbox import dispatch_due
from service.actions.participants import (
    EnrollmentRequest,
    enroll,
    record_infusion,
    record_visit_outcome,
    set_on_call,
)
from service.db.access_models import StaffUser
from service.db.models import Participant
from service.domain.actors import Actor
from service.domain.checkin_answers import ReportedSymptom, Severity, SymptomAnswers
from service.domain.protocol import VisitKind
from service.domain.states import ActorKind, StaffRole
from service.ports import (
    InboundSms,
    ManualClock,
    ProviderError,
    ProviderReceipt,
    SmsGateway,
    SmsSendError,
    WhatsAppContent,
)
from service.runtime import Runtime

log = logging.getLogger("service.demo")

DEMO_ADMIN = "demo-admin@example.org"
DEMO_COORDINATOR = "demo-coordinadora@example.org"
DEMO_PASSWORD = "demo-password"  # noqa: S105  # printed for the demo; console SMS only
HISTORY_DAYS: Final = 10
STEP: Final = timedelta(hours=4)
ZONE: Final = ZoneInfo("America/Santiago")
LANDLINE: Final = 30006  # Twilio: "Landline or unreachable carrier"
ON_CALL: Final = {"CUA": "+56961110090"}
FEVER_FROM: Final = "DEMO-002"
MISSED_BY: Final = "DEMO-003"
FREE_TEXT_FROM: Final = "DEMO-001"

# (study id, site, phone, days since baseline today, second infusion days after baseline,
#  can become pregnant)
_PEOPLE = (
    ("DEMO-001", "CUA", "+56961110001", -20, None, True),
    ("DEMO-002", "CUA", "+56961110002", 12, None, False),
    ("DEMO-003", "HBLT", "+56961110003", 150, None, True),
    ("DEMO-004", "HBLT", "+56961110004", 230, 196, False),
)
_FAILING_PHONE: Final = "+56961110004"


class _LandlineForOneNumber:
    """The console gateway, except that one demo number answers like a landline."""

    def __init__(self, inner: SmsGateway, phone: str) -> None:
        self._inner, self._phone = inner, phone
        self.name = getattr(inner, "name", "console")

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        if to == self._phone:
            raise SmsSendError(
                "landline or unreachable carrier",
                code=LANDLINE,
                http_status=400,
                failure=self._inner.explain_error(LANDLINE).failure,
            )
        return await self._inner.send(
            to, body, status_callback=status_callback, validity_period_s=validity_period_s
        )

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        return await self._inner.send_whatsapp(to, content, status_callback=status_callback)

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        return await self._inner.find_sent(to, body, since, channel=channel)

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        return self._inner.explain_error(code, language)

    async def aclose(self) -> None:
        """The inner gateway is the app's; it closes it."""


async def load_demo_data(rt: Runtime) -> None:
    if rt.settings.sms_backend != "console":
        raise RuntimeError("--demo needs SMS_BACKEND=console: demo phone numbers are made up")
    if not await StaffUser.filter(email=DEMO_ADMIN).exists():
        await add_staff_user(rt, DEMO_ADMIN, "admin", [], DEMO_PASSWORD)
    if not await StaffUser.filter(email=DEMO_COORDINATOR).exists():
        await add_staff_user(rt, DEMO_COORDINATOR, "coordinator", ["CUA"], DEMO_PASSWORD)
    if await Participant.filter(study_id__startswith="DEMO-").exists():
        log.info("demo: participants already there, nothing added")
    else:
        await _play_history(rt)
    # Printed, not logged: the log masks e-mail addresses, and this one is for reading.
    print(f"demo: log in as {DEMO_ADMIN} / {DEMO_PASSWORD}", flush=True)
    print(f"demo: or as {DEMO_COORDINATOR} / {DEMO_PASSWORD} (site CUA)", flush=True)


async def _play_history(rt: Runtime) -> None:
    now = rt.clock.now()
    clock = ManualClock(now - timedelta(days=HISTORY_DAYS))
    demo = dataclasses.replace(
        rt, clock=clock, gateway=_LandlineForOneNumber(rt.gateway, _FAILING_PHONE)
    )
    actor = Actor(kind=ActorKind.STAFF, label="system:demo", role=StaffRole.ADMIN)
    for code, phone in ON_CALL.items():
        await set_on_call(demo, actor, code, phone, None)
    await _enrol(demo, actor, today=now.astimezone(ZONE).date())
    halfway = now - timedelta(days=HISTORY_DAYS // 2)
    events_done = False
    while clock.now() < now:
        clock.set(min(clock.now() + STEP, now))
        if not events_done and clock.now() >= halfway:
            await _fever(demo, FEVER_FROM)
            await _free_text(demo, FREE_TEXT_FROM)
            events_done = True
        await dispatch_due(demo)
        await escalation_job(demo)  # as the scheduler would: records who was texted, when
    await _record_visits(demo, actor)
    log.info("demo: %d participants, %d days of history", len(_PEOPLE), HISTORY_DAYS)


async def _enrol(rt: Runtime, actor: Actor, *, today: date) -> None:
    for study_id, site, phone, days_ago, second_after, pregnant in _PEOPLE:
        baseline = today - timedelta(days=days_ago)
        await enroll(
            rt,
            actor,
            EnrollmentRequest(
                study_id=study_id,
                site=site,
                phone=phone,
                can_become_pregnant=pregnant,
                baseline_infusion_date=baseline,
                sms_consent=True,
                preferred_time="10:30" if study_id == "DEMO-002" else None,
            ),
        )
        if second_after is not None:
            await record_infusion(
                rt, actor, study_id, 2, baseline + timedelta(days=second_after), "demo data"
            )


async def _fever(rt: Runtime, study_id: str) -> None:
    """A symptom check-in from the app with 39.1 °C: the rules raise an alert."""
    participant = await Participant.get(study_id=study_id)
    day = rt.clock.now().astimezone(ZONE).date()
    await submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=f"checkin:symptoms_on_demand:{day.isoformat()}",
            questionnaire="symptoms",
            channel="app",
            answers=SymptomAnswers((ReportedSymptom("fever", Severity.MODERATE, 39.1),)),
            raw_texts=["{}"],
            late=False,
            actor_label=f"participant:{study_id}",
        ),
    )


async def _free_text(rt: Runtime, study_id: str) -> None:
    """A question the service cannot answer: it waits in the queue as "not understood"."""
    participant = await Participant.get(study_id=study_id)
    await handle_inbound(
        rt,
        InboundSms(
            provider_id=f"SMdemo{participant.id:030d}",
            from_phone=participant.phone,
            to_phone="+56229999999",
            body="Hola, ¿puedo cambiar la hora de mi próxima visita?",
        ),
    )


async def _record_visits(rt: Runtime, actor: Actor) -> None:
    """Every closed window attended on its target day, except one visit missed."""
    missed_one = False
    for participant in await Participant.filter(study_id__startswith="DEMO-").order_by("id"):
        today = rt.clock.now().astimezone(ZoneInfo(participant.timezone)).date()
        closed = [
            v
            for v in calendar_for(rt, participant)
            if v.window_end < today and v.kind is not VisitKind.INFUSION
        ]
        for visit in closed:
            if participant.study_id == MISSED_BY and not missed_one and visit is closed[-1]:
                await record_visit_outcome(
                    rt,
                    actor,
                    participant.study_id,
                    visit.code,
                    "missed",
                    visit.window_end,
                    "demo: did not come",
                )
                missed_one = True
                continue
            await record_visit_outcome(
                rt, actor, participant.study_id, visit.code, "attended", visit.target_date
            )
