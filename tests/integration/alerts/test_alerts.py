"""Safety alerts: raised once per event, texted to the on-call phone through the same
gateway (console and the local Twilio-compatible server), escalated with the manual
clock, acknowledged with a note, scoped to the staff member's sites, audited."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from tortoise.transactions import in_transaction

from service.actions import checkins
from service.actions.alerts import (
    alert_summary,
    backfill_notified,
    escalate_overdue_alerts,
    notify_alert,
    record_alert,
)
from service.actions.checkins import CheckinResult, CheckinSubmission
from service.actions.outbox import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.twilio_sms import TwilioSmsGateway
from service.app import create_app
from service.db.models import Alert, AuditEntry, Checkin, InboxItem, OutboundMessage, Participant
from service.domain.checkin_answers import (
    PregnancyAnswer,
    ReportedSymptom,
    Severity,
    SymptomAnswers,
)
from service.domain.safety import SafetyFinding
from service.jobs.tasks import periodic_jobs
from service.ports import ManualClock
from service.runtime import Runtime
from service.settings import Settings
from tests.support.fakes import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_MESSAGING_SERVICE_SID
from tests.support.fakes.gateways import FlakyGateway
from tests.support.fakes.twilio_server import TwilioFakeServer
from tests.support.helpers import Client, enrollment, staff_headers

PARTICIPANTS = "/api/v1/participants"
ALERTS = "/api/v1/alerts"
KEY = "checkin:symptoms_weekly:2027-01-13"
ONCALL = "+56961234501"
BACKUP = "+56961234502"
HBLT_ONCALL = "+56961234503"
PHONES = (ONCALL, BACKUP, HBLT_ONCALL, "+56961234567", "+56961234568")


def severe(code: str = "nausea_vomiting") -> SymptomAnswers:
    return SymptomAnswers((ReportedSymptom(code, Severity.SEVERE),))


def fever(temperature: float, severity: Severity = Severity.MILD) -> SymptomAnswers:
    return SymptomAnswers((ReportedSymptom("fever", severity, temperature),))


async def submit(
    rt: Runtime,
    participant: Participant,
    answers: SymptomAnswers | PregnancyAnswer,
    key: str = KEY,
    raw: tuple[str, ...] = ("{}",),
) -> CheckinResult:
    result = await checkins.submit(
        rt,
        participant,
        CheckinSubmission(
            checkin_key=key,
            questionnaire="pregnancy" if isinstance(answers, PregnancyAnswer) else "symptoms",
            channel="app",
            answers=answers,
            raw_texts=list(raw),
            late=False,
            actor_label=f"participant:{participant.study_id}",
        ),
    )
    await deliver(rt)
    return result


async def deliver(rt: Runtime) -> None:
    """What the dispatcher loop and the alert job do in a running service: send what
    is due (alerts first), then record when each alert's SMS left."""
    await dispatch_due(rt)
    await backfill_notified(rt)


async def escalate(rt: Runtime) -> int:
    escalated = await escalate_overdue_alerts(rt)
    await deliver(rt)
    return escalated


async def setup_sites(client: Client, *, backup: bool = True, on_call: bool = True) -> None:
    """Two participants (MSC-001 at CUA, MSC-002 at HBLT) and the sites' on-call phones."""
    admin = await staff_headers(client, "admin@uandes.cl", "admin")
    for body in (
        enrollment(baseline_infusion_date="2027-01-06"),
        enrollment(study_id="MSC-002", site="HBLT", phone="+56961234568"),
    ):
        response = await client.post(PARTICIPANTS, json=body, headers=admin)
        assert response.status_code == 201, response.text
    if on_call:
        cua = {"primary": ONCALL, "backup": BACKUP if backup else None}
        for code, numbers in (("CUA", cua), ("HBLT", {"primary": HBLT_ONCALL})):
            response = await client.put(
                f"/api/v1/sites/{code}/on-call", json=numbers, headers=admin
            )
            assert response.status_code == 200, response.text


@pytest.fixture
def rt(client: Client) -> Runtime:
    runtime: Runtime = client.app.state.runtime
    return runtime


@pytest.fixture
async def msc1(client: Client) -> Participant:
    await setup_sites(client)
    return await Participant.get(study_id="MSC-001")


def sent_to(gateway: ConsoleSmsGateway, phone: str) -> list[str]:
    return [m.body for m in gateway.sent if m.to == phone]


# ---- once per event ---------------------------------------------------------------------


async def test_severe_symptom_alerts_once_even_when_submitted_twice(
    rt: Runtime, msc1: Participant, gateway: ConsoleSmsGateway
) -> None:
    first = await submit(rt, msc1, severe())
    retry = await submit(rt, msc1, severe())

    assert first.alert is not None and retry.alert is None
    assert first.advice == retry.advice == "safety.contact_team"
    assert [f.code for f in first.findings] == ["severe:nausea_vomiting"]
    assert await Alert.all().count() == 1
    alert = await Alert.get()
    assert alert.status == "open" and not alert.emergency
    assert alert.checkin_id == first.checkin.id  # type: ignore[attr-defined]
    assert alert.notified_at == rt.clock.now()
    bodies = sent_to(gateway, ONCALL)
    assert len(bodies) == 1
    assert "ALERTA DE SEGURIDAD" in bodies[0] and "MSC-001" in bodies[0]
    assert "Náuseas o vómitos (severo)" in bodies[0] or "Nauseas o vomitos (severo)" in bodies[0]


async def test_concurrent_identical_submissions_raise_one_alert(
    rt: Runtime, msc1: Participant, gateway: ConsoleSmsGateway
) -> None:
    results = await asyncio.gather(*(submit(rt, msc1, severe("rash")) for _ in range(3)))
    assert sum(r.alert is not None for r in results) == 1
    assert await Alert.all().count() == 1
    assert len(sent_to(gateway, ONCALL)) == 1


async def raise_alert(
    rt: Runtime, participant: Participant, *, findings: list[SafetyFinding], dedupe_key: str
) -> Alert | None:
    """Store an alert and text the on-call phone, as a check-in does (in its transaction)."""
    async with in_transaction():
        notice = await record_alert(rt, participant, findings=findings, dedupe_key=dedupe_key)
    return None if notice is None else await notify_alert(rt, notice)


async def test_raise_alert_is_idempotent_on_its_key(rt: Runtime, msc1: Participant) -> None:
    findings = [SafetyFinding("pregnancy_yes")]
    assert await raise_alert(rt, msc1, findings=findings, dedupe_key="safety:x") is not None
    assert await raise_alert(rt, msc1, findings=findings, dedupe_key="safety:x") is None
    assert await Alert.all().count() == 1


async def test_a_correction_that_adds_a_finding_is_a_new_event(
    rt: Runtime, msc1: Participant, clock: ManualClock
) -> None:
    await submit(rt, msc1, severe())
    clock.advance(minutes=5)
    same_finding = await submit(rt, msc1, severe(), raw=("corrected wording",))
    assert same_finding.created and same_finding.alert is None
    worse = SymptomAnswers(
        (ReportedSymptom("nausea_vomiting", Severity.SEVERE), ReportedSymptom("chest_pain", None)),
        complete=False,
    )
    clock.advance(minutes=5)
    added = await submit(rt, msc1, worse, raw=("4",))
    assert added.alert is not None and added.alert.emergency
    assert added.advice == "safety.emergency"
    assert await Alert.all().count() == 2
    assert await Checkin.filter(checkin_key=KEY).count() == 3


# ---- the rules, end to end ----------------------------------------------------------------


async def test_pregnancy_yes_alerts_and_no_does_not(
    rt: Runtime, msc1: Participant, gateway: ConsoleSmsGateway
) -> None:
    no = await submit(rt, msc1, PregnancyAnswer(pregnant=False), key="checkin:preg:1")
    assert no.alert is None and no.advice is None
    yes = await submit(rt, msc1, PregnancyAnswer(pregnant=True), key="checkin:preg:2")
    assert yes.alert is not None
    assert yes.alert.findings[0]["code"] == "pregnancy_yes"
    assert yes.advice == "safety.contact_team"
    body = sent_to(gateway, ONCALL)[0]
    assert "embarazo" in body.lower()
    assert "pregnancy_yes" not in body


@pytest.mark.parametrize(("temperature", "alerts"), [(38.0, True), (37.9, False), (39.4, True)])
async def test_fever_threshold(
    rt: Runtime, msc1: Participant, temperature: float, alerts: bool
) -> None:
    result = await submit(rt, msc1, fever(temperature))
    assert (result.alert is not None) is alerts
    assert await Alert.all().count() == int(alerts)
    if alerts:
        assert [f.code for f in result.findings] == ["fever"]


async def test_chest_pain_is_an_emergency(rt: Runtime, msc1: Participant) -> None:
    result = await submit(rt, msc1, SymptomAnswers((ReportedSymptom("chest_pain", Severity.MILD),)))
    assert result.alert is not None and result.alert.emergency
    assert result.advice == "safety.emergency"


async def test_mild_symptoms_do_not_alert(rt: Runtime, msc1: Participant) -> None:
    result = await submit(rt, msc1, SymptomAnswers((ReportedSymptom("cough", Severity.MODERATE),)))
    assert result.alert is None and result.advice is None and result.findings == ()
    assert await OutboundMessage.filter(kind="alert").count() == 0


async def test_the_summary_stays_short_in_spanish(rt: Runtime) -> None:
    every = SymptomAnswers(
        tuple(
            ReportedSymptom(s.code, Severity.SEVERE, 40.1 if s.asks_temperature else None)
            for s in rt.protocol.symptoms
        )
    )
    from service.domain.safety import evaluate_symptoms

    stored = [
        {"code": f.code, "params": dict(f.params), "key_params": dict(f.key_params)}
        for f in evaluate_symptoms(every, rt.protocol.symptoms, rt.protocol.safety)
    ]
    summary = alert_summary(rt, stored)
    assert len(summary) < 110
    assert summary.startswith("Fiebre")
    assert re.search(r"\+\d+$", summary)
    assert alert_summary(rt, stored[:2]) == "Fiebre 40,1 °C (severo) y Escalofríos (severo)"


# ---- delivery -----------------------------------------------------------------------------


async def test_without_on_call_number_the_alert_waits_in_the_inbox(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await setup_sites(client, on_call=False)
    rt: Runtime = client.app.state.runtime
    participant = await Participant.get(study_id="MSC-001")
    result = await submit(rt, participant, severe())
    assert result.alert is not None
    alert = await Alert.get(id=result.alert.id)
    assert alert.notified_at is None
    item = await InboxItem.get(reason="alert_no_on_call")
    assert item.participant_id == participant.id  # type: ignore[attr-defined]
    assert await OutboundMessage.filter(kind="alert").count() == 0
    assert [m for m in gateway.sent if m.to in PHONES[:3]] == []  # no on-call SMS


class TestWhenTheGatewayFails:
    @pytest.fixture
    def gateway(self) -> FlakyGateway:
        return FlakyGateway(failures=1)

    async def test_the_alert_is_kept_and_sent_by_the_dispatcher(
        self, client: Client, gateway: FlakyGateway, clock: ManualClock
    ) -> None:
        await setup_sites(client)
        rt: Runtime = client.app.state.runtime
        participant = await Participant.get(study_id="MSC-001")
        result = await submit(rt, participant, severe())
        assert result.alert is not None
        assert (await Alert.get(id=result.alert.id)).notified_at is None
        row = await OutboundMessage.get(kind="alert")
        assert row.status == "planned" and row.to_phone == ONCALL

        clock.advance(minutes=2)
        await dispatch_due(rt)
        assert len(sent_to(gateway, ONCALL)) == 1
        await periodic_jobs()["alerts.escalate"](rt)
        alert = await Alert.get(id=result.alert.id)
        assert alert.notified_at is not None and alert.escalated_at is None


class TestThroughTheTwilioCompatibleServer:
    @pytest.fixture
    def twilio(self) -> Iterator[TwilioFakeServer]:
        with TwilioFakeServer() as server:
            yield server

    @pytest.fixture
    def app(self, settings: Settings, clock: ManualClock, twilio: TwilioFakeServer) -> Litestar:
        gateway = TwilioSmsGateway(
            TEST_ACCOUNT_SID,
            TEST_AUTH_TOKEN,
            messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
            api_base_url=twilio.base_url,
        )
        return create_app(settings, gateway=gateway, clock=clock, run_scheduler=False)

    @pytest.fixture
    async def client(self, app: Litestar, database_url: str) -> AsyncIterator[Client]:
        from service.actions.participants import sync_sites
        from tests.conftest import _truncate

        async with AsyncTestClient(app=app) as test_client:
            await _truncate(database_url)
            await sync_sites(app.state.runtime)
            try:
                yield test_client
            finally:
                # The SDK's aiohttp session was opened on this test's loop (the actions
                # ran here); close it here, not from the lifespan's portal thread.
                await app.state.runtime.gateway.aclose()

    async def test_on_call_and_escalation_sms_reach_twilio(
        self, client: Client, twilio: TwilioFakeServer, clock: ManualClock
    ) -> None:
        await setup_sites(client)
        rt: Runtime = client.app.state.runtime
        participant = await Participant.get(study_id="MSC-001")
        result = await submit(
            rt, participant, SymptomAnswers((ReportedSymptom("less_urine", Severity.MILD),))
        )
        assert result.alert is not None

        to_on_call = [m for m in twilio.messages if m.to == ONCALL]
        assert len(to_on_call) == 1
        assert to_on_call[0].form["MessagingServiceSid"] == TEST_MESSAGING_SERVICE_SID
        assert "MSC-001" in to_on_call[0].body and "Orinar menos" in to_on_call[0].body
        row = await OutboundMessage.get(kind="alert", purpose=f"alert:{result.alert.id}")
        assert row.provider_id == to_on_call[0].sid and row.status == "sent"
        assert (await Alert.get(id=result.alert.id)).notified_at is not None

        clock.advance(minutes=31)
        assert await escalate(rt) == 1
        escalated = [m for m in twilio.messages if m.to == BACKUP]
        assert len(escalated) == 1 and "SIN RESPUESTA" in escalated[0].body


# ---- escalation ---------------------------------------------------------------------------


async def test_escalation_after_the_configured_minutes(
    rt: Runtime, msc1: Participant, clock: ManualClock, gateway: ConsoleSmsGateway
) -> None:
    assert rt.protocol.safety.escalate_after_minutes == 30
    result = await submit(rt, msc1, severe())
    assert result.alert is not None
    clock.advance(minutes=29)
    assert await escalate(rt) == 0
    assert sent_to(gateway, BACKUP) == []

    clock.advance(minutes=2)
    assert await escalate(rt) == 1
    bodies = sent_to(gateway, BACKUP)
    assert len(bodies) == 1 and "SIN RESPUESTA" in bodies[0] and "MSC-001" in bodies[0]
    alert = await Alert.get(id=result.alert.id)
    assert alert.escalated_at == clock.now() and alert.status == "open"
    row = await OutboundMessage.get(kind="alert", message_key="alert.escalated")
    assert row.to_phone == BACKUP and row.participant_id is None  # type: ignore[attr-defined]

    clock.advance(minutes=31)
    assert await escalate(rt) == 0  # once only
    assert len(sent_to(gateway, BACKUP)) == 1


async def test_acknowledged_alerts_are_not_escalated(
    client: Client, rt: Runtime, msc1: Participant, clock: ManualClock, gateway: ConsoleSmsGateway
) -> None:
    result = await submit(rt, msc1, severe())
    assert result.alert is not None
    coordinator = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    response = await client.post(
        f"{ALERTS}/{result.alert.id}/acknowledge",
        json={"note": "Llamé, está bien"},
        headers=coordinator,
    )
    assert response.status_code == 200, response.text
    clock.advance(minutes=31)
    await periodic_jobs()["alerts.escalate"](rt)
    assert sent_to(gateway, BACKUP) == []
    assert (await Alert.get(id=result.alert.id)).escalated_at is None


async def test_without_backup_the_primary_is_texted_again(
    client: Client, clock: ManualClock, gateway: ConsoleSmsGateway
) -> None:
    await setup_sites(client, backup=False)
    rt: Runtime = client.app.state.runtime
    participant = await Participant.get(study_id="MSC-001")
    await submit(rt, participant, severe())
    clock.advance(minutes=30)
    assert await escalate(rt) == 1
    bodies = sent_to(gateway, ONCALL)
    assert len(bodies) == 2 and "SIN RESPUESTA" in bodies[1]


async def test_escalation_with_nobody_on_call_goes_to_the_inbox(
    client: Client, clock: ManualClock
) -> None:
    await setup_sites(client, on_call=False)
    rt: Runtime = client.app.state.runtime
    await submit(rt, await Participant.get(study_id="MSC-001"), severe())
    clock.advance(minutes=31)
    assert await escalate(rt) == 1
    assert await InboxItem.filter(reason="alert_unacknowledged").count() == 1
    assert await escalate(rt) == 0


# ---- the staff API ------------------------------------------------------------------------


async def test_acknowledge_with_a_note(
    client: Client, rt: Runtime, msc1: Participant, clock: ManualClock
) -> None:
    result = await submit(rt, msc1, fever(38.6, Severity.MODERATE))
    assert result.alert is not None
    url = f"{ALERTS}/{result.alert.id}"
    coordinator = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])

    listed = (await client.get(ALERTS, headers=coordinator)).json()
    assert [a["id"] for a in listed] == [result.alert.id]
    shown = listed[0]
    assert shown["study_id"] == "MSC-001" and shown["site"] == "CUA"
    assert shown["findings"] == [
        {
            "code": "fever",
            "label": "Fiebre 38,6 °C (moderado)",
            "emergency": False,
            "params": {"symptom": "fever", "severity": "moderate", "temperature_c": "38.6"},
        }
    ]
    assert shown["status"] == "open" and shown["acknowledged_at"] is None
    assert shown["notified_at"] is not None and shown["escalated_at"] is None

    empty = await client.post(f"{url}/acknowledge", json={"note": "  "}, headers=coordinator)
    assert empty.status_code == 400 and empty.json()["extra"][0]["key"] == "note"
    missing = await client.post(f"{url}/acknowledge", json={}, headers=coordinator)
    assert missing.status_code == 400
    unknown = await client.post(
        f"{url}/acknowledge", json={"note": "ok", "arm": "MSC"}, headers=coordinator
    )
    assert unknown.status_code == 400
    assert (await Alert.get(id=result.alert.id)).status == "open"

    clock.advance(minutes=12)
    done = await client.post(
        f"{url}/acknowledge",
        json={"note": "Llamé a la participante; va a urgencia."},
        headers=coordinator,
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "staff:coord@uandes.cl"
    assert body["note"] == "Llamé a la participante; va a urgencia."
    assert datetime.fromisoformat(body["acknowledged_at"]) == clock.now()

    twice = await client.post(f"{url}/acknowledge", json={"note": "otra vez"}, headers=coordinator)
    assert twice.status_code == 409
    assert (await client.get(ALERTS, headers=coordinator)).json() == []
    acknowledged = await client.get(ALERTS, params={"status": "acknowledged"}, headers=coordinator)
    assert [a["id"] for a in acknowledged.json()] == [result.alert.id]
    assert (
        len((await client.get(ALERTS, params={"status": "all"}, headers=coordinator)).json()) == 1
    )
    bad = await client.get(ALERTS, params={"status": "closed"}, headers=coordinator)
    assert bad.status_code == 400


async def test_a_coordinator_never_sees_the_other_sites_alerts(
    client: Client, rt: Runtime, msc1: Participant, gateway: ConsoleSmsGateway
) -> None:
    hblt = await submit(rt, await Participant.get(study_id="MSC-002"), severe(), key="k:hblt")
    cua = await submit(rt, msc1, severe())
    assert hblt.alert is not None and cua.alert is not None
    assert len(sent_to(gateway, HBLT_ONCALL)) == 1 and len(sent_to(gateway, ONCALL)) == 1

    coordinator = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    listed = await client.get(ALERTS, params={"status": "all"}, headers=coordinator)
    assert [a["study_id"] for a in listed.json()] == ["MSC-001"]
    assert (await client.get(f"{ALERTS}/{hblt.alert.id}", headers=coordinator)).status_code == 404
    assert (await client.get(f"{ALERTS}/{cua.alert.id}", headers=coordinator)).status_code == 200
    other = await client.post(
        f"{ALERTS}/{hblt.alert.id}/acknowledge", json={"note": "x"}, headers=coordinator
    )
    assert other.status_code == 404
    assert (await client.get(f"{ALERTS}/999999", headers=coordinator)).status_code == 404

    admin = await staff_headers(client, "boss@uandes.cl", "admin")
    assert len((await client.get(ALERTS, headers=admin)).json()) == 2
    assert (await client.get(ALERTS)).status_code == 401


async def test_a_monitor_reads_but_cannot_acknowledge(
    client: Client, rt: Runtime, msc1: Participant
) -> None:
    result = await submit(rt, msc1, severe())
    assert result.alert is not None
    monitor = await staff_headers(client, "monitor@uandes.cl", "monitor")
    assert (await client.get(f"{ALERTS}/{result.alert.id}", headers=monitor)).status_code == 200
    refused = await client.post(
        f"{ALERTS}/{result.alert.id}/acknowledge", json={"note": "visto"}, headers=monitor
    )
    assert refused.status_code == 403
    alert = await Alert.get(id=result.alert.id)
    assert alert.status == "open" and alert.note is None
    assert await AuditEntry.filter(action="alert.acknowledge").count() == 0


async def test_checkin_listing_links_the_alert(
    client: Client, rt: Runtime, msc1: Participant
) -> None:
    result = await submit(rt, msc1, severe())
    admin = await staff_headers(client, "boss@uandes.cl", "admin")
    rows = (await client.get(f"{PARTICIPANTS}/MSC-001/checkins", headers=admin)).json()
    assert rows[0]["alert_ids"] == [result.alert.id]  # type: ignore[union-attr]


# ---- audit --------------------------------------------------------------------------------


async def test_every_write_is_audited_without_phone_numbers(
    client: Client, rt: Runtime, msc1: Participant, clock: ManualClock
) -> None:
    result = await submit(rt, msc1, severe())
    assert result.alert is not None
    clock.advance(minutes=31)
    await escalate(rt)
    coordinator = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    await client.post(
        f"{ALERTS}/{result.alert.id}/acknowledge",
        json={"note": f"Llamé al {ONCALL} y al {BACKUP}"},
        headers=coordinator,
    )

    entries = await AuditEntry.all()
    actions = {e.action for e in entries}
    assert {
        "checkin.submit",
        "alert.raise",
        "alert.notify",
        "alert.escalate",
        "alert.acknowledge",
    } <= actions
    by_alert = {e.action for e in entries if e.entity == "alert"}
    assert by_alert == {"alert.raise", "alert.notify", "alert.escalate", "alert.acknowledge"}
    raised = next(e for e in entries if e.action == "alert.raise")
    assert raised.changes["findings"] == ["severe:nausea_vomiting"]
    assert raised.changes["notify"] == "on_call_primary"
    escalated = next(e for e in entries if e.action == "alert.escalate")
    assert escalated.changes["to"] == "on_call_backup"
    acknowledged = next(e for e in entries if e.action == "alert.acknowledge")
    assert acknowledged.actor == "staff:coord@uandes.cl"

    for entry in entries:
        text = f"{entry.changes} {entry.reason or ''} {entry.entity_id} {entry.actor}"
        digits = re.sub(r"\D", "", text)
        for phone in PHONES:
            assert phone not in text and phone[1:] not in digits, (entry.action, text)
