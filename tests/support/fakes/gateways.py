"""SMS gateways that tests hand to the app or a runtime, in one place.

Each implements the SmsGateway port (service/ports.py) the way a test needs: recording,
failing on cue, dying mid-send, or being closed by the test rather than the app. The
gateways that speak real HTTP are in service/adapters; the Twilio double they talk to
is tests/fakes/twilio_server.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.adapters.console_sms import ConsoleSmsGateway
from service.adapters.twilio_errors import explain_twilio_error
from service.ports import (
    ProviderError,
    ProviderReceipt,
    SmsGateway,
    SmsSendError,
    WhatsAppContent,
)

# The MessageSid of the captured status callbacks in tests/fixtures/twilio_status_*.json.
CAPTURED_STATUS_SID = "SM9c1e6b0f2d3a4c5b6e7f8091a2b3c4d5"

__all__ = [
    "CAPTURED_STATUS_SID",
    "CallerClosedGateway",
    "CrashingGateway",
    "FlakyGateway",
    "ProcessDied",
    "RecordingGateway",
    "Sent",
    "SidGateway",
]


@dataclass
class Sent:
    to: str
    body: str
    status_callback: str | None
    validity_period_s: int | None


class _AcceptingFake:
    """What the accepting fakes share: nothing to look up, Twilio's codes, nothing to close."""

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        return None

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        raise AssertionError("this fake sends SMS only")

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        return explain_twilio_error(code, language)  # the codes tests use are Twilio's

    async def aclose(self) -> None:
        pass


class RecordingGateway(_AcceptingFake):
    """Accepts everything, remembers it, and can be slow (to make sends overlap)."""

    name = "recording"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.sent: list[Sent] = []
        self.delay_s = delay_s

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.sent.append(Sent(to, body, status_callback, validity_period_s))
        return ProviderReceipt(provider_id=f"SM{len(self.sent):032x}", status="accepted")


class SidGateway(_AcceptingFake):
    """Accepts every message; the first gets the captured callbacks' sid."""

    name = "twilio"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, to: str, body: str, **_: Any) -> ProviderReceipt:
        self.sent.append(to)
        sid = CAPTURED_STATUS_SID if len(self.sent) == 1 else f"SM{len(self.sent):032x}"
        return ProviderReceipt(provider_id=sid, status="accepted")


class FlakyGateway(ConsoleSmsGateway):
    """Refuses the first ``failures`` sends with a transient provider error."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        if self.failures:
            self.failures -= 1
            raise SmsSendError("twilio refused (503)", code=20503, http_status=503)
        return await super().send(
            to, body, status_callback=status_callback, validity_period_s=validity_period_s
        )


class ProcessDied(Exception):
    """Stands for the process being killed: nothing after it runs for that message."""


class CrashingGateway:
    """Dies once, ``before`` handing the message to Twilio or ``after`` Twilio got it."""

    name = "twilio"

    def __init__(self, inner: SmsGateway, when: str) -> None:
        self.inner, self.when = inner, when

    async def send(self, to: str, body: str, **kwargs: Any) -> ProviderReceipt:
        if self.when == "before":
            raise ProcessDied
        with contextlib.suppress(SmsSendError):
            await self.inner.send(to, body, **kwargs)
        raise ProcessDied  # whatever Twilio answered is lost with the process

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        if self.when == "before":
            raise ProcessDied
        with contextlib.suppress(SmsSendError):
            await self.inner.send_whatsapp(to, content, status_callback=status_callback)
        raise ProcessDied

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        return await self.inner.find_sent(to, body, since, channel=channel)

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        return self.inner.explain_error(code, language)

    async def aclose(self) -> None:
        pass


class CallerClosedGateway:
    """The Twilio gateway, closed by the test that opened it. The app's lifespan runs
    on the test client's own event loop and must not close an aiohttp session that
    belongs to the test's loop."""

    def __init__(self, inner: SmsGateway) -> None:
        self.inner = inner
        self.name = inner.name

    async def send(self, to: str, body: str, **kwargs: Any) -> ProviderReceipt:
        return await self.inner.send(to, body, **kwargs)

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        return await self.inner.send_whatsapp(to, content, status_callback=status_callback)

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        return await self.inner.find_sent(to, body, since, channel=channel)

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        return self.inner.explain_error(code, language)

    async def aclose(self) -> None:
        pass
