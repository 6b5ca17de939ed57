"""Whole SMS conversations in Spanish, posted exactly as Twilio signs them."""

from __future__ import annotations

import asyncio

from service.actions.outbox import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import (
    Alert,
    AuditEntry,
    Checkin,
    InboundMessage,
    InboxItem,
    OutboundMessage,
    Participant,
)
from service.ports import ManualClock
from tests.support.fakes.twilio_server import TEST_AUTH_TOKEN, sign
from tests.support.helpers import Client, staff_headers
from tests.support.inbound_support import (
    PHONE,
    WEBHOOK,
    captured,
    enrol,
    post_sms,
    prompt_sent,
    say,
    settings,
    texts,
    weekly,
)

__all__ = ["settings", "weekly"]  # fixtures, imported for pytest to find


async def test_clean_weekly_checkin(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, " Ninguno. ")
    checkin = await Checkin.get()
    assert checkin.channel == "sms" and checkin.complete and not checkin.late
    assert checkin.answers["symptoms"] == []
    assert checkin.raw_texts == [" Ninguno. "]
    assert await Alert.all().count() == 0
    assert "Gracias" in texts(gateway)[-1]


async def test_severe_symptom_raises_one_alert(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, "9")  # nausea or vomiting
    assert "1 leve" in texts(gateway)[-1] or "leve" in texts(gateway)[-1]
    await say(weekly, "3")  # severe
    checkin = await Checkin.get()
    assert checkin.answers["symptoms"] == [
        {"code": "nausea_vomiting", "severity": "severe", "temperature_c": None}
    ]
    assert checkin.raw_texts == ["9", "3"]
    alert = await Alert.get()
    assert alert.status == "open" and not alert.emergency
    await dispatch_due(weekly.app.state.runtime)  # the advice goes through the outbox
    assert any("equipo" in t for t in texts(gateway))  # told to contact the team


async def test_fever_and_chest_pain_tell_participant_to_call_emergency(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(weekly, "1, 4")
    await say(weekly, "2")  # fever moderate
    await say(weekly, "38,5")
    await say(weekly, "1")  # chest pain mild: still a red flag
    checkin = await Checkin.all().order_by("-version").first()  # v1 was stored at "1, 4"
    assert checkin is not None and checkin.complete
    codes = {s["code"]: s for s in checkin.answers["symptoms"]}
    assert codes["fever"]["temperature_c"] == 38.5
    alert = await Alert.get()
    assert alert.emergency
    await dispatch_due(weekly.app.state.runtime)  # the advice goes through the outbox
    assert any("131" in t for t in texts(gateway))


async def test_garbled_answers_go_to_coordinators(
    weekly: Client, gateway: ConsoleSmsGateway
) -> None:
    for text in ("hola?", "no sé", "🙂"):
        await say(weekly, text)
    assert await InboxItem.filter(reason="unparseable").count() == 1
    assert await Checkin.all().count() == 0
    assert await InboundMessage.all().count() == 3
    assert "equipo" in texts(gateway)[-1]


async def test_opt_out_mid_conversation(weekly: Client, gateway: ConsoleSmsGateway) -> None:
    await say(weekly, "1")  # fever; severity question follows
    await say(weekly, "2")  # moderate; the temperature question follows
    # (While a severity question is open, "baja" would be ambiguous and asked again.)
    await say(weekly, "Baja, gracias")
    participant = await Participant.get()
    assert participant.opted_out
    partial = await Checkin.get()
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
    checkin = await Checkin.get_or_none()
    inbound = await InboundMessage.get()
    assert inbound.late and inbound.body == "0"
    assert checkin is None or checkin.late
    assert await InboxItem.filter(reason="late_answer").count() == 1


async def test_pregnancy_yes_is_an_urgent_alert(client: Client, gateway: ConsoleSmsGateway) -> None:
    # Baseline a month ago: the monthly pregnancy question is due today at 10:00.
    await enrol(client, baseline_infusion_date="2026-12-13")
    await prompt_sent(client)
    await say(client, "Sí")
    checkin = await Checkin.get()
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
    await asyncio.gather(say(weekly, "1", deliver=False), say(weekly, "2", deliver=False))
    await dispatch_due(weekly.app.state.runtime)
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


async def test_cancelar_after_a_visit_reminder_asks_to_reschedule_not_to_leave(
    client: Client, gateway: ConsoleSmsGateway, clock: ManualClock
) -> None:
    await enrol(client, baseline_infusion_date="2026-12-13", can_become_pregnant=False)
    row = (
        await OutboundMessage.filter(kind="reminder", status="planned").order_by("send_at").first()
    )
    assert row is not None
    clock.set(row.send_at)
    await dispatch_due(client.app.state.runtime)
    await say(client, "CANCELAR")
    participant = await Participant.get(study_id="MSC-001")
    assert not participant.opted_out
    item = await InboxItem.get(participant_id=participant.id)
    assert item.reason == "reschedule"
    assert "equipo" in texts(gateway)[-1].lower()  # "your study team will contact you"
    # Reminders still go out: the participant is as subscribed as before.
    assert await OutboundMessage.filter(kind="reminder", status="planned").exists()


async def test_cancelar_with_no_reminder_to_answer_is_free_text_for_the_queue(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    await say(client, "Cancelar")
    participant = await Participant.get(study_id="MSC-001")
    assert not participant.opted_out
    assert (await InboxItem.get(participant_id=participant.id)).reason == "not_understood"


async def test_coordinators_see_and_close_their_sites_queue(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client)
    await say(client, "¿A qué hora es mi control?")  # nothing to place it in
    cua = await staff_headers(client, "coord@uandes.cl", "coordinator", ["CUA"])
    hblt = await staff_headers(client, "other@uandes.cl", "coordinator", ["HBLT"])
    items = (await client.get("/api/v1/inbox", headers=cua)).json()
    assert [(i["reason"], i["study_id"]) for i in items] == [("not_understood", "MSC-001")]
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


async def test_a_prompted_check_in_answered_by_whatsapp_is_kept_as_such(weekly: Client) -> None:
    await say(weekly, "Ninguno", phone=f"whatsapp:{PHONE}")
    checkin = await Checkin.get()
    assert checkin.channel == "whatsapp" and checkin.complete
    assert checkin.raw_texts == ["Ninguno"]
