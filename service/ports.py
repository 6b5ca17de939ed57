"""The narrow ports that actions depend on.

Actions never import Twilio, the console gateway or the wall clock directly; the
app factory hands them implementations, and tests hand them their own. That is what
lets the same action run against the console gateway on a laptop, the real Twilio
SDK in production and a local Twilio-compatible server in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ProviderReceipt:
    """What the SMS provider told us about one message it accepted (or found)."""

    provider_id: str
    status: str  # provider vocabulary: queued, accepted, sending, sent, delivered, failed ...
    error_code: int | None = None
    sent_at: datetime | None = None


class SmsSendError(Exception):
    """A send the provider refused or that never reached it.

    ``permanent`` says whether trying again can help: an invalid or opted-out number
    (Twilio 21211, 21610) never will; a carrier hiccup, a 5xx or a timeout may.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.permanent = permanent


@runtime_checkable
class SmsGateway(Protocol):
    """Sends SMS. Implementations: Twilio (production) and console (embedded default)."""

    name: str

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        """Hand one message to the provider; raise SmsSendError when it refuses."""
        ...

    async def find_sent(self, to: str, body: str, since: datetime) -> ProviderReceipt | None:
        """Look a message up at the provider, for reconciling a send that crashed midway."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class Clock(Protocol):
    """The only source of 'now'. Always timezone-aware, always UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests, demos and benchmarks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self._now += timedelta(**delta)


class Translator(Protocol):
    """Renders a whole catalog message in one locale with named placeholders."""

    def render(self, key: str, locale: str, /, **params: object) -> str: ...


class RedcapError(Exception):
    """REDCap refused or never answered.

    ``kind``: ``refused`` (400: REDCap names what it refused, nothing was imported),
    ``forbidden`` (403: bad token or missing rights), ``unavailable`` (5xx, timeout,
    connection: the import may or may not have happened, so look before resending).
    """

    def __init__(self, message: str, *, kind: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_status = http_status


@runtime_checkable
class RedcapApi(Protocol):
    """The few REDCap API calls the EDC push needs (flat JSON, unique event names)."""

    async def export_metadata(self) -> list[dict[str, str]]: ...

    async def export_events(self) -> list[dict[str, str]]: ...

    async def export_form_event_mappings(self) -> list[dict[str, str]]: ...

    async def export_records(
        self, records: list[str], fields: list[str], events: list[str]
    ) -> list[dict[str, str]]:
        """``content=record, action=export, type=flat``: what REDCap holds now."""
        ...

    async def import_records(self, rows: list[dict[str, str]]) -> list[str]:
        """``content=record, action=import, overwriteBehavior=normal, returnContent=ids``."""
        ...

    async def aclose(self) -> None: ...
