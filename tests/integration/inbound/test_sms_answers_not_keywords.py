"""Answers that Twilio's keyword handling could misread, posted as Twilio signs them."""

from __future__ import annotations

from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import Alert, Checkin, Participant
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


async def test_alto_to_a_severity_question_is_asked_again_not_an_opt_out(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    await enrol(client, baseline_infusion_date="2027-01-06", can_become_pregnant=False)
    await prompt_sent(client)
    await say(client, "9")  # náuseas o vómitos
    assert "1 leve" in texts(gateway)[-1]
    await say(client, "Alto")
    assert not (await Participant.get()).opted_out
    assert "Responde 1 (leve), 2 (moderado) o 3" in texts(gateway)[-1]
    await say(client, "grave")
    checkin = await Checkin.get()
    assert checkin.answers["symptoms"][0]["severity"] == "severe"
    assert checkin.raw_texts == ["9", "Alto", "grave"]
    assert await Alert.all().count() == 1


async def test_english_yes_that_twilio_tags_start_still_answers_pregnancy(
    client: Client, gateway: ConsoleSmsGateway
) -> None:
    # Twilio's default opt-in list holds YES: it adds OptOutType=START although the
    # participant never opted out. The answer must still be read as the answer.
    await enrol(client, baseline_infusion_date="2026-12-13", language="en")
    await prompt_sent(client)
    response = await post_sms(client, captured("twilio_inbound_yes_start.json"))
    assert response.status_code == 200
    checkin = await Checkin.get()
    assert checkin.questionnaire == "pregnancy" and checkin.answers["pregnant"] is True
    assert (await Alert.get()).status == "open"
