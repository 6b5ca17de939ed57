"""A real ``followup worker`` process for the fault suite and the recovery bench.

The same ``run_worker`` as production, configured from the environment, except that
the Twilio gateway's timeout comes from ``FAULT_TWILIO_TIMEOUT_S`` (short, so a hang
at the double costs a second, not ten). Run: ``python -m tests.support.worker_process``.
"""

from __future__ import annotations

import asyncio
import logging
import os

from service.adapters.twilio_sms import TwilioSmsGateway
from service.composition import build_runtime
from service.settings import load_settings
from service.worker import run_worker


async def main() -> None:
    settings = load_settings()
    assert settings.twilio_account_sid and settings.twilio_auth_token
    gateway = TwilioSmsGateway(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        whatsapp_from=settings.twilio_whatsapp_from,
        api_base_url=settings.twilio_api_base_url,
        timeout_s=float(os.environ.get("FAULT_TWILIO_TIMEOUT_S", "1.0")),
    )
    await run_worker(settings, runtime=build_runtime(settings, gateway=gateway))


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("FAULT_LOG_LEVEL", "WARNING"))
    asyncio.run(main())
