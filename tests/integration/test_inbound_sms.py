"""Whole SMS conversations in Spanish, posted exactly as Twilio signs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from service.actions.dispatch import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import (
    Alert,
    AuditEntry,
    CheckIn,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.ports import ManualClock
from service.settings import Settings, load_settings
from tests.conftest import SECRET
from tests.fakes.twilio_server import TEST_AUTH_TOKEN, sign
from tests.integration.helpers import Client, enrollment, staff_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WEBHOOK = "/webhooks/twilio/sms"
PHONE = "+56961234567"
_counter = iter(range(10_000, 99_999))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": "http://testserver.local",
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        }
    )


def captured(name: str = "twilio_inbound_sms.json", **changes: str) -> dict[str, str]:
    form: dict[str, str] = json.loads((FIXTURES / name).read_text())
    if "MessageSid" not in changes:
        sid = f"SM{next(_counter):032x}"
        changes = {**changes, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}
    form.update(changes)
    return form


async def post_sms(client: Client, form: dict[str, str], *, signed: bool = True) -> Any:
    headers = {}
    if signed:
        url = f"{client.app.state.runtime.settings.public_base_url}{WEBHOOK}"
        headers["X-Twilio-Signature"] = sign(url, form, TEST_AUTH_TOKEN)
    return await client.post(WEBHOOK, data=form, headers=headers)


async def say(client: Client, text: str, phone: str = PHONE) -> Any:
    response = await post_sms(client, captured(Body=text, From=phone))
    assert response.status_code == 200, response.text
    assert "<Response" in response.text
    return response


def texts(gateway: ConsoleSmsGateway) -> list[str]:
    return [m.body for m in gateway.sent]


async def enrol(client: Client, **changes: Any) -> None:
    admin = await staff_headers(client, "admin@uandes.cl", "admin")
    response = await client.post("/api/v1/participants", json=enrollment(**changes), headers=admin)
    assert response.status_code == 201, response.text


async def prompt_sent(client: Client, kind: str = "checkin") -> OutboundMessage:
    """Run the dispatcher until a check-in prompt has gone out; return it."""
    await dispatch_due(client.app.state.runtime)
    row = await OutboundMessage.filter(kind=kind, status__in=("sent", "delivered")).first()
    assert row is not None, "no check-in prompt was sent"
    return row


@pytest.fixture
async def weekly(client: Client, gateway: ConsoleSmsGateway) -> Client:
    # Clock: Wed 2027-01-13 12:00 in Santiago. Baseline a week earlier: the weekly
    # symptom check-in (10:00) is due now; no pregnancy questions for this person.
    await enrol(client, baseline_infusion_date="2027-01-06", can_become_pregnant=False)
    await prompt_sent(client)
    return client


async def test_clean_weekly_checkin(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, " Ninguno. ")
    checkin = await CheckIn.get()
    assert checkin.channel == "sms" and checkin.complete and not checkin.late
    assert checkin.answers["symptoms"] == []
    assert checkin.raw_texts == [" Ninguno. "]
    assert await Alert.all().count() == 0
    assert "Gracias" in texts(gateway)[-1]


async def test_severe_symptom_raises_one_alert(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, "9")  # nausea or vomiting
    assert "1 leve" in texts(gateway)[-1] or "leve" in texts(gateway)[-1]
    await say(weekly, "3")  # severe
    checkin = await CheckIn.get()
    assert checkin.answers["symptoms"] == [
        {"code": "nausea_vomiting", "severity": "severe", "temperature_c": None}
    ]
    assert checkin.raw_texts == ["9", "3"]
    alert = await Alert.get()
    assert alert.status == "open" and not alert.emergency
    assert any("equipo" in t for t in texts(gateway))  # told to contact the team


async def test_fever_and_chest_pain_tell_participant_to_call_emergency(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(weekly, "1, 4")
    await say(weekly, "2")  # fever moderate
    await say(weekly, "38,5")
    await say(weekly, "1")  # chest pain mild: still a red flag
    checkin = await CheckIn.get()
    codes = {s["code"]: s for s in checkin.answers["symptoms"]}
    assert codes["fever"]["temperature_c"] == 38.5
    alert = await Alert.get()
    assert alert.emergency
    assert any("131" in t for t in texts(gateway))


async def test_garbled_answers_go_to_coordinators(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    for text in ("hola?", "no sé", "🙂"):
        await say(weekly, text)
    assert await InboxItem.filter(reason="unparseable").count() == 1
    assert await CheckIn.all().count() == 0
    assert await InboundMessage.all().count() == 3
    assert "equipo" in texts(gateway)[-1]


async def test_opt_out_mid_conversation(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, "1")  # fever; severity question follows
    await say(weekly, "2")  # moderate; the temperature question follows
    # (While a severity question is open, "baja" would be ambiguous and asked again.)
    await say(weekly, "Baja, gracias")
    participant = await Participant.get()
    assert participant.opted_out
    partial = await CheckIn.get()
    assert not partial.complete and partial.answers["symptoms"][0]["code"] == "fever"
    assert await OutboundMessage.filter(status="planned").count() == 0
    before = len(gateway.sent)
    await say(weekly, "BAJA")  # confirmed once, not twice
    assert len(gateway.sent) == before
    await say(weekly, "ALTA")
    assert not (await Participant.get()).opted_out
    assert await OutboundMessage.filter(status="planned").count() > 0


async def test_twilio_stop_is_not_confirmed_twice(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    response = await post_sms(client, captured("twilio_inbound_stop.json"))
    assert response.status_code == 200
    assert (await Participant.get()).opted_out
    assert gateway.sent == []  # Twilio confirmed STOP itself


async def test_late_answer_is_kept_and_flagged(
    weekly: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    clock.advance(hours=49)
    await say(weekly, "0")
    checkin = await CheckIn.get_or_none()
    inbound = await InboundMessage.get()
    assert inbound.late and inbound.body == "0"
    assert checkin is None or checkin.late
    assert await InboxItem.filter(reason="late_answer").count() == 1


async def test_pregnancy_yes_is_an_urgent_alert(client: Client, gateway: ConsoleSmsGateway) -> None:
    # Baseline a month ago: the monthly pregnancy question is due today at 10:00.
    await enrol(client, baseline_infusion_date="2026-12-13")
    await prompt_sent(client)
    await say(client, "Sí")
    checkin = await CheckIn.get()
    assert checkin.questionnaire == "pregnancy" and checkin.answers["pregnant"] is True
    assert (await Alert.get()).status == "open"


async def test_signature_replay_and_unknown_numbers(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    form = captured(Body="hola")
    unsigned = await post_sms(client, form, signed=False)
    assert unsigned.status_code == 403
    tampered = dict(form)
    url = f"{client.app.state.runtime.settings.public_base_url}{WEBHOOK}"
    signature = sign(url, form, TEST_AUTH_TOKEN)
    tampered["Body"] = "BAJA"
    bad = await client.post(WEBHOOK, data=tampered, headers={"X-Twilio-Signature": signature})
    assert bad.status_code == 403
    assert await InboundMessage.all().count() == 0
    first = await post_sms(client, form)
    replay = await post_sms(client, form)
    assert first.status_code == replay.status_code == 200
    assert await InboundMessage.all().count() == 1
    stranger = await say(client, "AYUDA", phone="+56998887766")
    assert "+56" not in stranger.text
    assert await InboxItem.filter(reason="unknown_sender").count() == 1
    assert all(m.to != "+56998887766" for m in gateway.sent)


async def test_two_messages_together_are_applied_in_order(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    await asyncio.gather(say(weekly, "1"), say(weekly, "2"))
    assert await InboundMessage.all().count() == 2
    # Whichever came first chose the symptom, the other answered its severity:
    # the conversation is now asking for the temperature, never in a mixed state.
    assert "temperatura" in texts(gateway)[-1].lower()


async def test_si_confirms_the_next_visit(
    client: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, baseline_infusion_date="2026-12-13", can_become_pregnant=False)
    row = (
        await OutboundMessage.filter(kind="reminder", status="planned").order_by("send_at").first()
    )
    assert row is not None
    clock.set(row.send_at)
    await dispatch_due(client.app.state.runtime)
    await say(client, "SI")
    assert await AuditEntry.filter(action="visit.confirm").count() == 1
    assert "confirm" in texts(gateway)[-1].lower()


async def test_coordinators_see_and_close_their_sites_queue(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    await say(client, "¿A qué hora es mi control?")  # nothing to place it in
    cua = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    hblt = await staff_headers(client, "other@uandes.cl", "coordinator", ["HBLT"])
    items = (await client.get("/api/v1/inbox", headers=cua)).json()
    assert [(i["reason"], i["study_id"]) for i in items] == [("unplaced", "MSC-001")]
    assert items[0]["text"] == "¿A qué hora es mi control?"
    assert (await client.get("/api/v1/inbox", headers=hblt)).json() == []
    other = await client.post(f"/api/v1/inbox/{items[0]['id']}/close", json={}, headers=hblt)
    assert other.status_code == 404
    closed = await client.post(
        f"/api/v1/inbox/{items[0]['id']}/close", json={"note": "called her back"}, headers=cua
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await client.get("/api/v1/inbox", headers=cua)).json() == []
    assert await AuditEntry.filter(action="inbox.close").count() == 1
