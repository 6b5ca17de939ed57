"""Everything an action needs from the outside world, handed over in one object.

``service.composition.build_runtime`` builds one from settings and its arguments (the
API, the worker and the CLI all go through it); tests build theirs with a manual clock
and the local Twilio-compatible server. Nothing patches import paths.

The runtime is frozen: nothing an action holds can be swapped under it. The one part
that changes while a process runs, who listens for "something is due now", is a
:class:`WakeSignal` the runtime holds (the dispatcher loop attaches itself to it when it
starts and detaches when it stops). A test that needs another gateway builds a
runtime with ``dataclasses.replace``, which keeps the same signal.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from service.domain.protocol import Protocol
from service.domain.red_flags import RedFlagReader
from service.domain.whatsapp import WhatsAppTemplates
from service.ports import Clock, RedcapApi, SmsGateway, Translator
from service.settings import Settings

__all__ = ["REDCAP", "SMS_PROVIDER", "InboxQueue", "Neighbours", "Runtime", "WakeSignal"]

SMS_PROVIDER = "sms_provider"  # the neighbours readiness names
REDCAP = "redcap"


class WakeSignal:
    """Tells this process's dispatcher that an outbound row may be due now.

    Calling it never blocks and never raises; with no dispatcher listening (tests that
    drive dispatch themselves, CLI commands) it does nothing.
    """

    __slots__ = ("_listener",)

    def __init__(self) -> None:
        self._listener: Callable[[], None] | None = None

    def listen(self, listener: Callable[[], None]) -> None:
        """Attach the dispatcher's wake-up (one listener a process)."""
        self._listener = listener

    def stop_listening(self) -> None:
        self._listener = None

    def __call__(self) -> None:
        if self._listener is not None:
            self._listener()


class InboxQueue:
    """The numbers whose messages this process stored and has yet to understand, and
    which of its tasks are reading them.

    Why few readers a process: each webhook answers first and then offers its number
    here; while fewer than ``readers`` read, the offer makes the caller a reader,
    otherwise its number is left in line and the caller goes. A burst of webhooks is
    then answered at the pace of storing, not of understanding. A number is in the
    hands of one reader at a time (``next`` skips the numbers others hold), so one
    number's messages are never read by two tasks of the same process at once. While
    webhooks are being answered the readers wait a little before each message
    (``answering``), so a burst is answered first and understood right after.
    Thread-safe (test clients run each request on a thread of its own).
    """

    __slots__ = ("_answering", "_guard", "_held", "_numbers", "_reading")

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._numbers: dict[str, None] = {}  # insertion-ordered: first offered, first read
        self._held: set[str] = set()  # numbers a reader has in hand
        self._reading = 0  # readers running
        self._answering = 0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around a webhook's storing and answering: the reader lets it go first."""
        with self._guard:
            self._answering += 1
        try:
            yield
        finally:
            with self._guard:
                self._answering -= 1

    @property
    def busy_answering(self) -> bool:
        return self._answering > 0

    async def give_way(self, longest_s: float = 0.1, step_s: float = 0.005) -> None:
        """Let the webhooks being answered go first, for ``longest_s`` at most: Twilio
        waits for them, while understanding and re-planning can come a moment later.
        Always lets the event loop run once."""
        await asyncio.sleep(0)
        waited = 0.0
        while self.busy_answering and waited < longest_s:
            await asyncio.sleep(step_s)
            waited += step_s

    def offer(self, number: str, readers: int = 1) -> bool:
        """Leave ``number`` to be read; True when the caller is to read (fewer than
        ``readers`` do)."""
        with self._guard:
            self._numbers[number] = None
            if self._reading >= readers:
                return False
            self._reading += 1
            return True

    def again(self, number: str) -> None:
        """The reader puts ``number`` back at the end of the line: it has more pending."""
        with self._guard:
            self._numbers[number] = None

    def next(self, done: str | None) -> str | None:
        """The reader gives back ``done`` (the number it held, if any) and takes the
        next number no other reader holds; None: nothing left, the reader has stopped."""
        with self._guard:
            self._held.discard(done or "")
            for number in self._numbers:
                if number not in self._held:
                    del self._numbers[number]
                    self._held.add(number)
                    return number
            self._reading -= 1
            return None

    def quit(self, held: str) -> None:
        """A reader stopped by an exception: it gives back ``held`` and stops."""
        with self._guard:
            self._held.discard(held)
            self._reading -= 1


class Neighbours:
    """How the services this process talks to (the SMS provider, REDCap) answered
    lately, for readiness to name the one that is unwell.

    Why in memory and per process: it is what *this* process saw on its last call,
    which is what an operator looking at this process's readiness wants; the
    database's state is reported separately. A failure is kept until the next call
    to the same neighbour succeeds. Never blocks, never raises.
    """

    __slots__ = ("_failing",)

    def __init__(self) -> None:
        self._failing: dict[str, tuple[datetime, str]] = {}

    def failed(self, name: str, what: str, at: datetime) -> None:
        """``name``'s call failed (``what``: which call and how, no personal data)."""
        since = self._failing.get(name, (at, what))[0]
        self._failing[name] = (since, what)

    def answered(self, name: str) -> None:
        self._failing.pop(name, None)

    def state(self, name: str) -> str:
        """``"ok"``, or since when and how ``name`` has been failing."""
        failing = self._failing.get(name)
        if failing is None:
            return "ok"
        since, what = failing
        return f"failing since {since.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}: {what}"


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    protocol: Protocol
    clock: Clock
    gateway: SmsGateway
    translator: Translator
    non_working: Callable[[date], bool]
    # The protocol's red-flag concepts, compiled once from ``protocol`` (build_runtime).
    red_flags: RedFlagReader
    # Called after a transaction that made an outbound row due now commits (the
    # outbox's ``wake``); the process's dispatcher loop listens on it while it runs.
    wake_dispatcher: WakeSignal = field(default_factory=WakeSignal)
    # The study's REDCap API, when REDCAP_API_URL/TOKEN are set (tests pass their own).
    redcap: RedcapApi | None = None
    # What the SMS provider and REDCap answered lately (readiness reports it).
    neighbours: Neighbours = field(default_factory=Neighbours)
    # The approved WhatsApp templates by message key and language (empty without a
    # WhatsApp sender); checked against the protocol at start-up.
    whatsapp_templates: WhatsAppTemplates = field(default_factory=lambda: WhatsAppTemplates({}))
    # Numbers this process stored messages from and has yet to understand (the inbox).
    inbox: InboxQueue = field(default_factory=InboxQueue)
