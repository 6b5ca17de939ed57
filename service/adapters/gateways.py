"""Choosing the SMS gateway from settings.

The send cap (``SMS_RATE_PER_SECOND``) is not applied here: it is shared by every
process, so the outbox's dispatcher takes tokens from the database before it claims
(see ``service.actions.outbox``). A per-process limiter would multiply the cap.
"""

from __future__ import annotations

from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.twilio_sms import TwilioSmsGateway
from service.ports import SmsGateway
from service.settings import Settings


def build_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_backend == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token  # checked by settings
        return TwilioSmsGateway(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            from_number=settings.twilio_from_number,
            whatsapp_from=settings.twilio_whatsapp_from,
            api_base_url=settings.twilio_api_base_url,
        )
    return ConsoleSmsGateway()
