"""Posting inbound SMS exactly as Twilio signs them, shared by the inbound tests.

The webhook only queues replies; ``say`` runs the dispatcher afterwards so a test
sees what the participant receives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.actions.outbox import dispatch_due
from service.adapters.console_sms import ConsoleSmsGateway
from service.db.models import OutboundMessage
from service.settings import Settings, load_settings
from tests.conftest import SECRET
from tests.support.fakes.twilio_server import TEST_AUTH_TOKEN, sign
from tests.support.helpers import Client, enrollment, staff_headers

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


async def say(client: Client, text: str, phone: str = PHONE, *, deliver: bool = True) -> Any:
    """Post one SMS as Twilio would; then (unless ``deliver`` is False) run the
    dispatcher, which sends the replies the webhook queued (it never sends itself)."""
    response = await post_sms(client, captured(Body=text, From=phone))
    assert response.status_code == 200, response.text
    assert "<Response" in response.text
    if deliver:
        await dispatch_due(client.app.state.runtime)
    return response


async def deliver(client: Client) -> None:
    """What the woken dispatcher does after the webhook's commit."""
    await dispatch_due(client.app.state.runtime)


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
