"""Reports at any time by SMS: red flags outside a dialogue, and SINTOMAS on demand."""

from __future__ import annotations

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import Alert, Checkin, InboxItem, Participant
from tests.support.helpers import Client
from tests.support.inbound_support import (  # noqa: F401  # settings: a fixture
    captured,
    deliver,
    enrol,
    post_sms,
    prompt_sent,
    say,
    settings,
    texts,
)


@pytest.fixture
async def enrolled(client: Client) -> Client:
    # Clock: Wed 2027-01-13 12:00 in Santiago; nothing has been sent yet.
    await enrol(client, baseline_infusion_date="2027-01-06")
    return client


async def test_a_pregnancy_texted_on_a_tuesday_alerts_and_says_so(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    response = await post_sms(enrolled, captured("twilio_inbound_report_pregnancy.json"))
    assert response.status_code == 200
    await deliver(enrolled)
    checkin = await Checkin.get()
    assert checkin.questionnaire == "pregnancy" and checkin.answers == {"pregnant": True}
    assert checkin.checkin_key.startswith("report:pregnancy:")
    assert checkin.raw_texts == ["Hola, me hice el test y estoy embarazada 😳"]
    alert = await Alert.get()
    assert alert.status == "open"
    assert any("avisamos a tu equipo" in text for text in texts(gateway))
    assert not await InboxItem.exclude(reason="alert_no_on_call").exists()  # not queued


async def test_chest_pain_with_a_typo_alerts_as_an_emergency(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await post_sms(enrolled, captured("twilio_inbound_report_chest_pain.json"))
    await deliver(enrolled)
    checkin = await Checkin.get()
    assert checkin.answers["symptoms"] == [
        {"code": "chest_pain", "severity": None, "temperature_c": None}
    ]
    assert not checkin.complete  # unrated: the team asks how bad it is
    assert (await Alert.get()).emergency
    assert any("131" in text for text in texts(gateway))


async def test_fever_with_a_number_alerts_and_a_bare_fever_goes_to_the_queue(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(enrolled, "tengo fiebre")
    assert await Alert.all().count() == 0
    assert await InboxItem.filter(reason="red_flag_unclear").count() == 1
    assert any("Recibimos tu mensaje" in text for text in texts(gateway))
    await say(enrolled, "Fiebre 39")
    checkin = await Checkin.get()
    assert checkin.answers["symptoms"][0]["temperature_c"] == 39.0
    assert await Alert.all().count() == 1


async def test_a_negated_red_flag_is_not_an_alert_but_is_kept(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(enrolled, "No estoy embarazada, solo queria avisar")
    assert await Alert.all().count() == 0
    assert await InboxItem.filter(reason="negated").count() == 1


async def test_sintomas_starts_a_symptom_check_in_on_demand(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await post_sms(enrolled, captured("twilio_inbound_sintomas.json"))
    await deliver(enrolled)
    assert any("Cuéntanos qué sientes" in text for text in texts(gateway))
    await say(enrolled, "9")
    await say(enrolled, "3")  # severe nausea
    checkin = await Checkin.get()
    assert checkin.checkin_key.startswith("report:symptoms:")
    assert checkin.complete and checkin.raw_texts == ["9", "3"]
    assert await Alert.all().count() == 1


async def test_an_opted_out_participant_reporting_chest_pain_still_alerts_the_team(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await say(enrolled, "PARAR")
    assert (await Participant.get()).opted_out
    sent = len(gateway.sent)
    await say(enrolled, "me falta el aire")
    assert (await Alert.get()).emergency
    assert [m for m in gateway.sent[sent:] if m.to == "+56961234567"] == []  # not texted


async def test_a_red_flag_that_answers_nothing_in_a_dialogue_alerts_and_keeps_the_dialogue(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    await prompt_sent(enrolled)  # the weekly symptom question (10:00) is due
    await say(enrolled, "9")  # nausea: how bad?
    await say(enrolled, "ahora me falta el aire")  # no severity, but a red flag
    report = await Checkin.get(checkin_key__startswith="report:symptoms:")
    assert report.answers["symptoms"][0]["code"] == "shortness_of_breath"
    assert (await Alert.get()).emergency
    assert any("131" in text for text in texts(gateway))
    await say(enrolled, "2")  # the dialogue goes on where it was
    weekly = await Checkin.get(checkin_key__startswith="checkin:")
    assert weekly.answers["symptoms"] == [
        {"code": "nausea_vomiting", "severity": "moderate", "temperature_c": None}
    ]
    assert weekly.raw_texts == ["9", "2"]


async def test_a_report_by_whatsapp_is_kept_as_answered_by_whatsapp(
    enrolled: Client, gateway: ConsoleSmsGateway
) -> None:
    """The check-in's channel says what carried the words: the EDC and the dashboard
    show a WhatsApp report as one, not as an SMS."""
    form = captured("twilio_inbound_report_pregnancy.json")
    form = {**form, "From": "whatsapp:" + form["From"], "To": "whatsapp:" + form["To"]}
    response = await post_sms(enrolled, form)
    assert response.status_code == 200
    await deliver(enrolled)
    checkin = await Checkin.get()
    assert checkin.channel == "whatsapp" and checkin.answers == {"pregnant": True}
    assert (await Alert.get()).status == "open"
