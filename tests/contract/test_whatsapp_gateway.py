"""WhatsApp through the official twilio SDK over HTTP, against the local double that
applies WhatsApp's rules; and the console gateway's stand-in for it.

What must hold: ``whatsapp:`` addresses on both sides; a template goes by ContentSid
with its numbered ContentVariables and no Body; a free-form Body outside the window is
refused with 63016, a number without WhatsApp with 63003, an unapproved sender with
63007, all three of the class the outbox falls back to SMS on; a lookup finds a
template send by the text the person received, on the WhatsApp address only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.twilio_sms import TwilioSmsGateway
from service.ports import ManualClock, SmsFailure, SmsSendError, WhatsAppContent
from tests.support.fakes import TEST_FROM_NUMBER, TwilioFakeServer
from tests.support.whatsapp_support import whatsapp_gateway

TO = "+56961234567"
SID = "HX" + "ab" * 16
TEMPLATE = "MSC-ROLE: Tu visita es el {{1}} en {{2}}."
FILLED = "MSC-ROLE: Tu visita es el miércoles 20 de enero en Clínica Universidad de los Andes."


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer(clock=clock.now) as server:
        server.whatsapp.senders.add(TEST_FROM_NUMBER)
        server.whatsapp.templates[SID] = TEMPLATE
        yield server


@pytest.fixture
async def gw(twilio: TwilioFakeServer) -> AsyncIterator[TwilioSmsGateway]:
    gateway = whatsapp_gateway(twilio)
    yield gateway
    await gateway.aclose()


def _template() -> WhatsAppContent:
    variables = {"1": "miércoles 20 de enero", "2": "Clínica Universidad de los Andes"}
    return WhatsAppContent(FILLED, SID, variables)


async def test_a_template_goes_by_content_sid_and_is_found_by_its_text(
    gw: TwilioSmsGateway, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    since = clock.now()
    receipt = await gw.send_whatsapp(TO, _template(), status_callback="http://x.test/status")

    (message,) = twilio.messages
    assert message.form["To"] == f"whatsapp:{TO}"
    assert message.form["From"] == f"whatsapp:{TEST_FROM_NUMBER}"
    assert message.form["ContentSid"] == SID and "Body" not in message.form
    assert json.loads(message.form["ContentVariables"])["1"] == "miércoles 20 de enero"
    assert message.body == FILLED and receipt.provider_id == message.sid
    found = await gw.find_sent(TO, FILLED, since, channel="whatsapp")
    assert found is not None and found.provider_id == message.sid
    assert await gw.find_sent(TO, FILLED, since) is None  # not an SMS to that number


async def test_free_form_needs_the_window(
    gw: TwilioSmsGateway, twilio: TwilioFakeServer, clock: ManualClock
) -> None:
    with pytest.raises(SmsSendError) as refused:
        await gw.send_whatsapp(TO, WhatsAppContent(FILLED))
    assert refused.value.code == 63016 and refused.value.http_status == 400
    assert refused.value.failure is SmsFailure.WRONG_CHANNEL and refused.value.permanent

    twilio.whatsapp.wrote(TO)
    await gw.send_whatsapp(TO, WhatsAppContent(FILLED))
    assert twilio.messages[-1].form["Body"] == FILLED

    clock.advance(hours=24, seconds=1)
    with pytest.raises(SmsSendError, match="63016"):
        await gw.send_whatsapp(TO, WhatsAppContent(FILLED))


@pytest.mark.parametrize("case", ["no_whatsapp", "sender_not_approved"])
async def test_refusals_smses_can_overcome(
    gw: TwilioSmsGateway, twilio: TwilioFakeServer, case: str
) -> None:
    if case == "no_whatsapp":
        twilio.whatsapp.without_whatsapp.add(TO)
    else:
        twilio.whatsapp.senders.clear()
    with pytest.raises(SmsSendError) as refused:
        await gw.send_whatsapp(TO, _template())
    assert refused.value.code == (63003 if case == "no_whatsapp" else 63007)
    assert refused.value.failure is SmsFailure.WRONG_CHANNEL
    assert not refused.value.failure.blocks_number  # SMS to that number still goes
    assert twilio.messages == []


async def test_a_read_callback_names_the_whatsapp_addresses(
    gw: TwilioSmsGateway, twilio: TwilioFakeServer
) -> None:
    receipt = await gw.send_whatsapp(TO, _template(), status_callback="http://x.test/status")
    _, _, form = twilio.status_callback_for(receipt.provider_id, "read")
    assert form["MessageStatus"] == "read" and form["To"] == f"whatsapp:{TO}"


async def test_the_console_says_which_channel_and_template(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    console = ConsoleSmsGateway(clock=clock)
    caplog.set_level("INFO", logger="service.sms.console")
    receipt = await console.send_whatsapp(TO, _template())
    assert f"template {SID}" in caplog.text and "whatsapp" in caplog.text
    assert TO not in caplog.text and FILLED not in caplog.text
    since = clock.now() - timedelta(seconds=1)
    found = await console.find_sent(TO, FILLED, since, channel="whatsapp")
    assert found is not None and found.provider_id == receipt.provider_id
    assert await console.find_sent(TO, FILLED, since) is None
