"""The app speaks Twilio here, WhatsApp included: conftest's console gateway and
settings are replaced by the Twilio double's WhatsApp senders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from service.ports import ManualClock, SmsGateway
from service.settings import Settings
from tests.support.fakes import TwilioFakeServer
from tests.support.fakes.gateways import CallerClosedGateway
from tests.support.whatsapp_support import whatsapp_gateway, whatsapp_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return whatsapp_settings(database_url)


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioFakeServer]:
    with TwilioFakeServer(clock=clock.now) as server:
        yield server


@pytest.fixture
async def gateway(twilio: TwilioFakeServer) -> AsyncIterator[SmsGateway]:
    gw = whatsapp_gateway(twilio)
    yield CallerClosedGateway(gw)
    await gw.aclose()
