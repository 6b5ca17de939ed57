"""A participant who chooses WhatsApp, walked through over real HTTP with the official
SDK: opt-in on record, templates outside the 24-hour window, free-form inside it, read
receipts, the fallback to SMS, BAJA stopping both channels, an emergency by WhatsApp.

Clock: Wed 2027-01-13 12:00 in Santiago. Baseline a week later, so the infusion's
week-before reminder is due at enrolment.
"""

from __future__ import annotations

import json
from datetime import timedelta

from tortoise.transactions import in_transaction

from service.actions.outbox import dispatch_due, replan_participant
from service.db.models import Alert, AuditEntry, InboundMessage, Participant
from service.domain.actors import SYSTEM
from service.ports import ManualClock
from tests.support.fakes import TEST_FROM_NUMBER, TwilioFakeServer
from tests.support.helpers import Client, database_snapshot, enrollment, staff_headers
from tests.support.whatsapp_support import (
    PHONE,
    enrol_on_whatsapp,
    outbound,
    whatsapp_says,
)

WA = f"whatsapp:{PHONE}"


async def test_whatsapp_needs_the_opt_in_and_records_it_whole(
    client: Client, twilio: TwilioFakeServer
) -> None:
    admin = await staff_headers(client, "lead@uandes.cl", "admin")
    before = await database_snapshot()
    refused = await client.post(
        "/api/v1/participants", json=enrollment(channel="whatsapp"), headers=admin
    )
    assert refused.status_code == 400, refused.text
    assert "whatsapp_opt_in" in refused.text
    assert await database_snapshot() == before

    body = await enrol_on_whatsapp(client, twilio, study_id="MSC-002")

    assert body["channel"] == "whatsapp"
    opt_in = body["whatsapp_opt_in"]
    assert opt_in["method"] == "written" and opt_in["at"].startswith("2027-01-13T14:30")
    assert opt_in["recorded_by"].startswith("staff:admin")
    assert "Universidad de los Andes" in opt_in["text"] and "BAJA" in opt_in["text"]
    entry = await AuditEntry.get(action="participant.enroll")
    assert entry.changes["channel"] == "whatsapp"
    assert entry.changes["whatsapp_opt_in_method"] == "written"


async def test_a_reminder_outside_the_window_goes_as_its_template(
    client: Client, twilio: TwilioFakeServer
) -> None:
    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime

    await dispatch_due(rt)

    (row,) = await outbound(status="sent")
    (message,) = twilio.messages
    template = rt.whatsapp_templates.get("reminder.infusion.week_before", "es")
    assert message.form["To"] == WA and message.form["From"] == f"whatsapp:{TEST_FROM_NUMBER}"
    assert message.form["ContentSid"] == template.content_sid and "Body" not in message.form
    variables = json.loads(message.form["ContentVariables"])
    assert list(variables) == ["1", "2", "3", "4"]
    assert variables["1"] == "Infusión 1" and variables["4"] == "+56226181000"
    assert "miércoles" in variables["2"] or "de enero" in variables["2"]
    assert row.channel == "whatsapp" and row.content_sid == template.content_sid
    assert row.content_variables == variables
    assert row.body == message.body  # what the person reads: accents kept, no segments
    assert "Infusión" in (row.body or "") and row.encoding is None and row.segments is None


async def test_a_reply_opens_the_window_and_the_next_question_goes_free_form(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol_on_whatsapp(client, twilio)
    await dispatch_due(client.app.state.runtime)

    await whatsapp_says(client, twilio, "SINTOMAS")

    inbound = await InboundMessage.get()
    assert inbound.channel == "whatsapp" and inbound.from_phone == PHONE
    participant = await Participant.get()
    assert participant.whatsapp_last_inbound_at == clock.now()
    question = twilio.messages[-1]
    assert question.form["To"] == WA and "ContentSid" not in question.form
    assert question.form["Body"].startswith("MSC-ROLE:")
    (row,) = await outbound(kind="reply")
    assert row.channel == "whatsapp" and row.content_sid is None

    clock.advance(hours=25)  # the window closed: a question of the protocol needs its template
    await whatsapp_says(client, twilio, "1")  # the answer is late, but it reopens the window
    assert "ContentSid" not in twilio.messages[-1].form


async def test_read_receipts_are_kept(client: Client, twilio: TwilioFakeServer) -> None:
    await enrol_on_whatsapp(client, twilio)
    await dispatch_due(client.app.state.runtime)
    (message,) = twilio.messages

    for status in ("delivered", "read"):
        url, headers, form = twilio.status_callback_for(message.sid, status)
        response = await client.post(
            url.removeprefix("http://testserver.local"), data=form, headers=headers
        )
        assert response.status_code == 204, response.text

    (row,) = await outbound(status="delivered")
    assert row.provider_status == "read" and row.delivered_at is not None


async def test_a_number_without_whatsapp_falls_back_to_sms_once(
    client: Client, twilio: TwilioFakeServer
) -> None:
    await enrol_on_whatsapp(client, twilio)
    twilio.whatsapp.without_whatsapp.add(PHONE)
    rt = client.app.state.runtime

    await dispatch_due(rt)
    await dispatch_due(rt)
    await dispatch_due(rt)

    (message,) = twilio.messages
    assert message.form["To"] == PHONE and "ContentSid" not in message.form
    assert [r.form.get("To") for r in twilio.requests if r.method == "POST"] == [WA, PHONE]
    (row,) = await outbound(status="sent")
    assert row.channel == "sms" and row.fallback_reason == "refused" and row.error_code == 63003
    assert row.provider_id == message.sid and row.attempts == 1
    assert (await Participant.get()).sms_blocked_code is None  # the number is fine for SMS
    assert await AuditEntry.filter(action="message.fallback").count() == 1


async def test_a_fallen_back_message_rewritten_by_a_replan_still_goes_by_sms(
    client: Client, twilio: TwilioFakeServer
) -> None:
    """Staff change the language between WhatsApp's refusal and the SMS attempt: the
    re-plan rewrites the row in place, and it still goes once, by SMS, with its one
    fallback audit."""
    await enrol_on_whatsapp(client, twilio)
    twilio.whatsapp.without_whatsapp.add(PHONE)
    rt = client.app.state.runtime
    await dispatch_due(rt, limit=1)  # WhatsApp refuses; the row waits to go by SMS
    (row,) = await outbound(status="planned", fallback_reason="refused")
    async with in_transaction():
        participant = await Participant.select_for_update().get()
        participant.language = "en"
        await participant.save(update_fields=["language", "updated_at"])
        assert await replan_participant(rt, participant, actor=SYSTEM)
    await row.refresh_from_db()
    assert (row.status, row.language, row.channel) == ("planned", "en", "sms")

    await dispatch_due(rt)
    (message,) = twilio.messages
    assert message.form["To"] == PHONE and "ContentSid" not in message.form
    (row,) = await outbound(status="sent")
    assert row.fallback_reason == "refused" and row.language == "en"
    assert await AuditEntry.filter(action="message.fallback").count() == 1


async def test_a_reply_outside_the_window_without_a_template_goes_by_sms(
    client: Client, twilio: TwilioFakeServer
) -> None:
    from tests.support.inbound_support import captured, post_sms

    await enrol_on_whatsapp(client, twilio)
    await dispatch_due(client.app.state.runtime)

    await post_sms(client, captured(Body="SINTOMAS", From=PHONE))  # by SMS: no window
    await dispatch_due(client.app.state.runtime)

    (row,) = await outbound(kind="reply")
    assert row.channel == "sms" and row.fallback_reason == "no_template"
    assert twilio.messages[-1].form["To"] == PHONE


async def test_baja_by_whatsapp_stops_both_channels(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime
    await dispatch_due(rt)

    await whatsapp_says(client, twilio, "BAJA")

    assert (await Participant.get()).opted_out
    confirmation = twilio.messages[-1]
    assert confirmation.form["To"] == WA  # the one message after an opt-out, where she wrote
    sent = len(twilio.messages)
    for _ in range(6):  # the next weeks: reminders and questions are all stopped
        clock.advance(days=3)
        await dispatch_due(rt)
    assert len(twilio.messages) == sent
    assert not await outbound(status="planned", send_at__lte=clock.now())


async def test_an_emergency_by_whatsapp_raises_one_alert(
    client: Client, twilio: TwilioFakeServer
) -> None:
    await enrol_on_whatsapp(client, twilio)
    await dispatch_due(client.app.state.runtime)

    await whatsapp_says(client, twilio, "tengo dolor de pecho y me falta el aire")
    await whatsapp_says(client, twilio, "dolor de pecho")

    alert = await Alert.get()
    assert alert.emergency
    assert any("131" in m.body for m in twilio.messages if m.to == WA)


async def test_the_next_day_a_question_goes_as_template_again(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    await enrol_on_whatsapp(client, twilio, baseline_infusion_date="2027-01-06")
    rt = client.app.state.runtime
    await whatsapp_says(client, twilio, "hola")
    clock.advance(days=7)  # the next weekly question, long after the window closed

    await dispatch_due(rt)

    weekly = [r for r in await outbound(kind="checkin") if r.status == "sent"]
    assert weekly and weekly[-1].channel == "whatsapp" and weekly[-1].content_sid
    assert timedelta(0) < clock.now() - weekly[-1].send_at < timedelta(days=1)


async def test_the_preview_shows_each_messages_channel_and_template(
    client: Client, twilio: TwilioFakeServer
) -> None:
    from service.actions.views import preview_lines

    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime
    await dispatch_due(rt)

    lines = await preview_lines(rt, "MSC-001")

    template = rt.whatsapp_templates.get("reminder.infusion.day_before", "es")
    day_before = next(line for line in lines if "Mañana es tu infusión" in line)
    assert f"whatsapp {template.content_sid}" in day_before  # accents kept: not folded
    assert " x" not in day_before.split("MSC-ROLE:")[0]  # no segments on WhatsApp
    messages = (
        await client.get(
            "/api/v1/participants/MSC-001/messages",
            headers=await staff_headers(client, "mon@uandes.cl", "monitor"),
        )
    ).json()
    assert {m["channel"] for m in messages} == {"whatsapp"}
    assert all(m["template"] for m in messages if m["status"] == "planned")


async def test_a_refusal_reported_later_by_callback_goes_once_by_sms(
    client: Client, twilio: TwilioFakeServer
) -> None:
    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime
    await dispatch_due(rt)
    (accepted,) = twilio.messages  # Twilio took the template, then WhatsApp said no

    for _ in range(2):  # Twilio may post the same callback twice
        url, headers, form = twilio.status_callback_for(accepted.sid, "failed", error_code=63003)
        path = url.removeprefix("http://testserver.local")
        assert (await client.post(path, data=form, headers=headers)).status_code == 204
        await dispatch_due(rt)

    sms = [m for m in twilio.messages if m.to == PHONE]
    assert len(sms) == 1 and len(twilio.messages) == 2
    (row,) = await outbound(kind="reminder", status="sent")
    assert row.channel == "sms" and row.fallback_reason == "refused" and row.error_code == 63003
    assert row.provider_id == sms[0].sid and sms[0].body == row.body
    assert await AuditEntry.filter(action="message.fallback", actor="twilio").count() == 1


async def test_a_whatsapp_message_from_a_number_known_for_sms_is_matched(
    client: Client, twilio: TwilioFakeServer
) -> None:
    admin = await staff_headers(client, "lead@uandes.cl", "admin")
    body = enrollment(can_become_pregnant=False)  # on SMS, no WhatsApp opt-in
    assert (await client.post("/api/v1/participants", json=body, headers=admin)).status_code == 201

    await whatsapp_says(client, twilio, "SINTOMAS")

    inbound = await InboundMessage.get()
    participant = await Participant.get()
    assert inbound.participant_id == participant.id and inbound.channel == "whatsapp"
    assert inbound.handling != "unknown_sender"
    (reply,) = await outbound(kind="reply")
    assert reply.channel == "sms"  # no opt-in to WhatsApp: the answer goes by SMS
    assert twilio.messages[-1].form["To"] == PHONE


async def test_stop_by_sms_stops_whatsapp_too(
    client: Client, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    from tests.support.inbound_support import captured, post_sms

    await enrol_on_whatsapp(client, twilio)
    rt = client.app.state.runtime
    await dispatch_due(rt)

    await post_sms(client, captured(Body="STOP", From=PHONE, OptOutType="STOP"))
    await dispatch_due(rt)
    assert (await Participant.get()).opted_out
    sent = len(twilio.messages)
    for _ in range(6):
        clock.advance(days=3)
        await dispatch_due(rt)
    assert len(twilio.messages) == sent  # nothing more on either channel
