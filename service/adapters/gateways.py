"""Choosing the SMS gateway from settings."""

from __future__ import annotations

from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.rate_limit import RateLimitedGateway
from service.adapters.twilio_sms import TwilioSmsGateway
from service.ports import SmsGateway
from service.settings import Settings


def build_gateway(settings: Settings) -> SmsGateway:
    inner: SmsGateway
    if settings.sms_backend == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token  # checked by settings
        inner = TwilioSmsGateway(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            from_number=settings.twilio_from_number,
            api_base_url=settings.twilio_api_base_url,
        )
    else:
        inner = ConsoleSmsGateway()
    return RateLimitedGateway(inner, settings.sms_rate_per_second)
