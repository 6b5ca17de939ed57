"""The inbound webhook under the faults that are the normal case: bytes no column
takes, a phone that sends 200 messages in a burst, answers that raise alerts.

Forms come from captured-form fixtures (tests/fixtures/twilio_inbound_*.json).
"""

from __future__ import annotations

import asyncio
import time

from service.actions.inbound import handle_inbound
from service.actions.inbound._reply_cap import ACKNOWLEDGEMENTS_PER_HOUR, REPLIES_PER_HOUR
from service.actions.outbox import dispatch_due, enqueue_now
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import (
    Alert,
    AuditEntry,
    Checkin,
    Conversation,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.domain.inbound_text import from_raw_b64
from service.ports import ManualClock
from service.web.twilio_forms import inbound_sms
from tests.support.helpers import Client, staff_headers
from tests.support.inbound_support import (
    PHONE,
    WEBHOOK,
    captured,
    enrol,
    post_sms,
    say,
    settings,
    texts,
    weekly,
)

__all__ = ["settings", "weekly"]  # fixtures, imported for pytest to find

ONCALL = "+56961234501"
TWILIO_GIVES_UP_S = 15.0  # Twilio drops a webhook that has not answered by then


async def test_nul_byte_is_stored_understood_and_kept_raw(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    form = captured("twilio_inbound_nul.json")
    response = await post_sms(weekly, form)
    assert response.status_code == 200 and "<Response" in response.text
    await dispatch_due(weekly.app.state.runtime)
    inbound = await InboundMessage.get()
    assert inbound.body == "Ninguno "
    assert inbound.body_raw_b64 is not None
    assert from_raw_b64(inbound.body_raw_b64) == "Ninguno\x00" == form["Body"]
    checkin = await Checkin.get()  # understood: no symptoms
    assert checkin.answers["symptoms"] == [] and checkin.raw_texts == ["Ninguno "]
    assert "Gracias" in texts(gateway)[-1]
    entry = await AuditEntry.get(action="sms.inbound")
    assert entry.changes["cleaned"] is True


async def test_control_characters_are_cleaned_in_body_and_fields(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    form = captured("twilio_inbound_controls.json")
    response = await post_sms(weekly, form)
    assert response.status_code == 200
    inbound = await InboundMessage.get()
    assert inbound.body == "1 4   [0m" and inbound.to_phone == "+15005550006"
    assert inbound.body_raw_b64 is not None
    assert from_raw_b64(inbound.body_raw_b64) == form["Body"]
    assert inbound.handling == "checkin_answer"  # "1" and "4" were read as two symptoms


async def test_lone_surrogate_and_invalid_utf8_are_stored(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    # A lone surrogate cannot travel in a form post (it is not UTF-8): the action
    # gets it from any caller that decodes loosely.
    form = captured("twilio_inbound_surrogate.json")
    outcome = await handle_inbound(client.app.state.runtime, inbound_sms(form))
    assert outcome.handling == "queued"
    stored = await InboundMessage.get(message_sid=form["MessageSid"])
    assert stored.body == "Hola \ufffd"
    assert stored.body_raw_b64 is not None
    assert from_raw_b64(stored.body_raw_b64) == "Hola \ud83d"
    # Over HTTP, bytes that are not UTF-8 arrive as U+FFFD and are stored as such.
    sid = "SM" + "e" * 32
    decoded = captured(Body="Hola \ufffd\ufffd\ufffd", MessageSid=sid, SmsSid=sid)
    from tests.support.fakes.twilio_server import TEST_AUTH_TOKEN, sign

    url = f"{client.app.state.runtime.settings.public_base_url}{WEBHOOK}"
    raw = "&".join(
        f"{key}={value}" for key, value in decoded.items() if key not in ("Body", "From", "To")
    )
    raw += "&Body=Hola+%ED%A0%BD&From=%2B56961234567&To=%2B15005550006"
    response = await client.post(
        WEBHOOK,
        content=raw.encode("ascii"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(url, decoded, TEST_AUTH_TOKEN),
        },
    )
    assert response.status_code == 200, response.text
    assert (await InboundMessage.get(message_sid=sid)).body == "Hola \ufffd\ufffd\ufffd"


async def test_answer_alert_and_advice_are_stored_together_and_sent_after(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    admin = await staff_headers(weekly, "boss@uandes.cl", "admin")
    response = await weekly.put(
        "/api/v1/sites/CUA/on-call", json={"primary": ONCALL}, headers=admin
    )
    assert response.status_code == 200, response.text
    await say(weekly, "9")  # nausea or vomiting; the severity question follows
    before = len(gateway.sent)
    await say(weekly, "3", deliver=False)  # severe
    # Answered without sending anything: the check-in, the alert, its on-call SMS
    # and the participant's advice are all stored, all queued.
    assert len(gateway.sent) == before
    checkin = await Checkin.get()
    alert = await Alert.get()
    assert alert.checkin_id == checkin.id  # type: ignore[attr-defined]  # FK id attr
    oncall = await OutboundMessage.get(kind="alert", purpose=f"alert:{alert.id}")
    advice = await OutboundMessage.get(purpose__startswith="advice:")
    assert oncall.status == advice.status == "planned"
    await dispatch_due(weekly.app.state.runtime)
    assert {m.to for m in gateway.sent[before:]} == {ONCALL, PHONE}
    assert (await OutboundMessage.get(id=oncall.id)).status in ("sent", "delivered")


async def test_a_burst_of_200_from_one_phone(client: Client, gateway: ConsoleSmsGateway) -> None:
    await enrol(client)
    durations: list[float] = []

    async def one(n: int) -> None:
        started = time.perf_counter()
        response = await post_sms(
            client, captured(Body=f"pregunta {n} sobre la visita", From=PHONE)
        )
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text

    for chunk in range(0, 200, 20):  # twenty at a time, as a proxy would pass them on
        await asyncio.gather(*(one(n) for n in range(chunk, chunk + 20)))
    assert gateway.sent == []  # the webhook never sends
    assert await InboundMessage.all().count() == 200
    assert await InboxItem.filter(reason="not_understood").count() == 200  # all reach people
    assert await OutboundMessage.filter(kind="reply").count() == ACKNOWLEDGEMENTS_PER_HOUR
    assert max(durations) < TWILIO_GIVES_UP_S
    await dispatch_due(client.app.state.runtime)
    sent = await OutboundMessage.filter(kind="reply", status__in=("sent", "delivered")).count()
    assert sent == ACKNOWLEDGEMENTS_PER_HOUR
    capped = await AuditEntry.filter(action="sms.inbound").all()
    assert sum(e.changes.get("replies_capped", 0) for e in capped) == 200 - sent


async def test_the_cap_is_per_hour(
    client: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client)
    for n in range(ACKNOWLEDGEMENTS_PER_HOUR + 2):
        await say(client, f"hola {n}")
    received = [t for t in texts(gateway) if "recibimos" in t.lower()]
    assert len(received) == ACKNOWLEDGEMENTS_PER_HOUR
    clock.advance(minutes=61)
    await say(client, "¿sigue ahí?")
    received = [t for t in texts(gateway) if "recibimos" in t.lower()]
    assert len(received) == ACKNOWLEDGEMENTS_PER_HOUR + 1


async def test_safety_advice_is_never_capped(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    rt = weekly.app.state.runtime
    participant = await Participant.get()
    for n in range(REPLIES_PER_HOUR):  # an hour's worth of automatic replies already
        await enqueue_now(
            rt,
            participant=participant,
            kind="reply",
            purpose="reply:inbound.received",
            occurrence=f"earlier:{n}",
            message_key="inbound.received",
            params={},
            language="es",
            expires_in=rt.clock.now() - rt.clock.now(),  # expired: never sent
        )
    await say(weekly, "9")  # its severity question is held back by the cap ...
    assert await InboxItem.filter(reason="replies_capped").count() == 1
    await say(weekly, "3")  # ... but "severe" is still understood, alerted and advised
    assert (await Checkin.get()).answers["symptoms"][0]["severity"] == "severe"
    assert await Alert.all().count() == 1
    advice = await OutboundMessage.get(purpose__startswith="advice:")
    assert advice.status in ("sent", "delivered")
    assert any("equipo" in text for text in texts(gateway))


async def test_a_message_without_sid_is_still_kept(client: Client) -> None:
    await enrol(client)
    for text in ("uno", "dos"):
        form = captured(Body=text)
        for key in ("MessageSid", "SmsSid", "SmsMessageSid"):
            del form[key]
        assert (await post_sms(client, form)).status_code == 200
    assert sorted(m.body for m in await InboundMessage.all()) == ["dos", "uno"]


async def test_a_message_that_cannot_be_understood_is_kept_for_people(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(weekly, "1")  # a dialogue is open now
    # A conversation state this version cannot read (saved by another release).
    await Conversation.filter(status="open").update(state={"domain": {"step": "??"}})
    before = len(gateway.sent)
    await say(weekly, "2")
    inbound = await InboundMessage.get(body="2")
    assert inbound.handling == "not_understood"
    item = await InboxItem.get(reason="not_understood")
    assert item.inbound_id == inbound.id  # type: ignore[attr-defined]  # FK id attr
    assert await OutboundMessage.filter(occurrence__startswith=inbound.message_sid).count() == 0
    assert len(gateway.sent) == before
    assert await AuditEntry.filter(action="sms.inbound", entity_id=str(inbound.id)).exists()
