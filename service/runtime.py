"""Everything an action needs from the outside world, handed over in one object.

``create_app`` builds one from settings and its arguments; tests build theirs with a
manual clock and the local Twilio-compatible server. Nothing patches import paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from service.domain.protocol import Protocol
from service.ports import Clock, RedcapApi, SmsGateway, Translator
from service.settings import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    protocol: Protocol
    clock: Clock
    gateway: SmsGateway
    translator: Translator
    non_working: Callable[[date], bool]
    # Called after a transaction that made an outbound row due now commits (the
    # outbox's ``wake``); the process's dispatcher loop sets it when it starts. A no-op
    # without one (tests drive dispatch themselves).
    wake_dispatcher: Callable[[], None] = field(default=lambda: None)
    # The study's REDCap API, when REDCAP_API_URL/TOKEN are set (tests pass their own).
    redcap: RedcapApi | None = None
