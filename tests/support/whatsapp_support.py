"""A participant on WhatsApp, end to end: the app speaking the official twilio SDK over
HTTP to the local Twilio-compatible server, which applies WhatsApp's rules (the
24-hour window, templates by ContentSid, 63003/63016 refusals) with the test's clock.

The server's approved templates are the catalog texts with ``{{1}}, {{2}} …`` in place
of the placeholders, as docs/messages.md tells the study team to register them.
"""

from __future__ import annotations

from typing import Any

from service.actions.outbox import dispatch_due
from service.adapters.i18n import load_renderer
from service.adapters.twilio_sms import TwilioSmsGateway
from service.db.models import OutboundMessage
from service.domain.whatsapp import WhatsAppTemplates
from service.settings import Settings, load_settings
from tests.conftest import SECRET, TEST_PASSWORD_HASH_COST
from tests.support.fakes import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_FROM_NUMBER,
    TEST_MESSAGING_SERVICE_SID,
    TwilioFakeServer,
)
from tests.support.helpers import Client, enrollment, staff_headers
from tests.support.inbound_support import WEBHOOK

PHONE = "+56961234567"
_admins = iter(range(1_000_000))
OPT_IN = {"method": "written", "at": "2027-01-13T14:30:00Z"}


def whatsapp_settings(database_url: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SMS_RATE_PER_SECOND": "0",
            "PUBLIC_BASE_URL": "http://testserver.local",
            "PASSWORD_HASH_COST": TEST_PASSWORD_HASH_COST,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_WHATSAPP_FROM": f"whatsapp:{TEST_FROM_NUMBER}",
        }
    )


def whatsapp_gateway(twilio: TwilioFakeServer) -> TwilioSmsGateway:
    """The Twilio gateway with a WhatsApp sender, speaking to the local server."""
    return TwilioSmsGateway(
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
        whatsapp_from=TEST_FROM_NUMBER,
        api_base_url=twilio.base_url,
        timeout_s=2,
    )


def approve_templates(twilio: TwilioFakeServer, templates: WhatsAppTemplates) -> None:
    """Register every template at the server with the catalog text and numbered
    variables (what the study team registers in Twilio), and approve our sender."""
    twilio.whatsapp.senders.add(TEST_FROM_NUMBER)
    translator = load_renderer()
    for template in templates.by_key.values():
        numbered = {name: f"{{{{{n}}}}}" for n, name in enumerate(template.variables, start=1)}
        body = translator.render(template.key, template.language, **numbered)
        twilio.whatsapp.templates[template.content_sid] = body


async def enrol_on_whatsapp(client: Client, twilio: TwilioFakeServer, **changes: Any) -> Any:
    approve_templates(twilio, client.app.state.runtime.whatsapp_templates)
    admin = await staff_headers(client, f"admin{next(_admins)}@uandes.cl", "admin")
    body = enrollment(
        can_become_pregnant=False, channel="whatsapp", whatsapp_opt_in=OPT_IN, **changes
    )
    response = await client.post("/api/v1/participants", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def whatsapp_says(
    client: Client, twilio: TwilioFakeServer, text: str, phone: str = PHONE
) -> None:
    """The participant writes by WhatsApp (signed, as Twilio posts it); the dispatcher
    then sends what the webhook queued."""
    url = f"{client.app.state.runtime.settings.public_base_url}{WEBHOOK}"
    headers, form = twilio.inbound_whatsapp(url, from_=phone, body=text)
    response = await client.post(WEBHOOK, data=form, headers=headers)
    assert response.status_code == 200, response.text
    await dispatch_due(client.app.state.runtime)


async def outbound(**filters: Any) -> list[OutboundMessage]:
    return await OutboundMessage.filter(**filters).order_by("id")
