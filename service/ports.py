"""The narrow ports that actions depend on.

Actions never import Twilio, the console gateway or the wall clock directly; the
app factory hands them implementations, and tests hand them their own. That is what
lets the same action run against the console gateway on a laptop, the real Twilio
SDK in production and a local Twilio-compatible server in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ProviderReceipt:
    """What the SMS provider told us about one message it accepted (or found)."""

    provider_id: str
    status: str  # provider vocabulary: queued, accepted, sending, sent, delivered, failed ...
    error_code: int | None = None
    sent_at: datetime | None = None


class SmsFailure(StrEnum):
    """What a provider's error code means for us, in no provider's words.

    The gateway that owns the code decides (``SmsGateway.explain_error``); actions act
    on the class only, and the dashboard translates these values for people:

    * ``opted_out``: the person told the provider to stop (Twilio 21610). Nothing more
      is sent to that number and the participant shows as opted out.
    * ``blocked_number``: the recipient or the carrier blocks our messages (30004).
    * ``invalid_number``: the number can never get an SMS from us (not a number, not a
      mobile, a landline, unknown handset: 21211, 21407, 21612, 21614, 30005, 30006).
    * ``message_rejected``: this message can never go as it is (empty or too long,
      region not enabled, trial account, carrier spam filter: 21408, 21602, 21608,
      30007 …); the message fails, the number is not blocked.
    * ``account``: our account or sender is misconfigured (credentials, sender number,
      suspended account: 20003, 21212, 30002 …); retried like ``transient`` so that
      nothing is dropped once a person fixes it.
    * ``wrong_channel``: this channel cannot carry the message to this person (WhatsApp:
      not on WhatsApp, outside the 24-hour window without a template, our sender not
      approved: 63003, 63016, 63007 …); another channel can, so the outbox sends it
      once by SMS instead. The number is not blocked.
    * ``transient``: may pass later (handset off, congestion, rate limits, provider
      faults), and every code the gateway does not know.

    The first three block the participant's number (``sms_blocked_code``) until staff
    change it or the person opts in again; ``permanent`` ones are never retried.
    """

    OPTED_OUT = "opted_out"
    BLOCKED_NUMBER = "blocked_number"
    INVALID_NUMBER = "invalid_number"
    MESSAGE_REJECTED = "message_rejected"
    ACCOUNT = "account"
    WRONG_CHANNEL = "wrong_channel"
    TRANSIENT = "transient"

    @property
    def permanent(self) -> bool:
        """Sending the same text to the same number again can never succeed."""
        return self not in (SmsFailure.ACCOUNT, SmsFailure.TRANSIENT)

    @property
    def blocks_number(self) -> bool:
        """The fault is the participant's number: stop all SMS to it."""
        return self in (SmsFailure.OPTED_OUT, SmsFailure.BLOCKED_NUMBER, SmsFailure.INVALID_NUMBER)


@dataclass(frozen=True, slots=True)
class ProviderError:
    """A provider's error code with its neutral class, its meaning in (English) words
    for operators, and ``words``: what a coordinator reads next to the failed message,
    in the language asked (None without a code). The code stays, since coordinators
    quote it to the provider's support."""

    code: int | None
    failure: SmsFailure
    meaning: str
    words: str | None = None


class SmsSendError(Exception):
    """A send the provider refused or that never reached it.

    ``failure`` is the gateway's classification of ``code`` (:class:`SmsFailure`);
    ``permanent`` says whether trying again can help: an invalid or opted-out number
    never will; a carrier hiccup, a 5xx or a timeout may.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        failure: SmsFailure = SmsFailure.TRANSIENT,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.failure = failure

    @property
    def permanent(self) -> bool:
        return self.failure.permanent


@dataclass(frozen=True, slots=True)
class WhatsAppContent:
    """What goes out by WhatsApp: the catalog text, and outside the 24-hour window the
    approved template that carries it (``content_sid``) with its numbered variables
    (``{"1": ..., "2": ...}``). ``body`` is always the text the person reads, so a
    template send can be looked up like any other."""

    body: str
    content_sid: str | None = None
    variables: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One text someone sent to our number, as the webhook parsed it from the provider.

    Fields are the provider's values, uncleaned (the action cleans and stores them):
    ``provider_id`` identifies the message for de-duplication (None if the provider
    sent none); ``opt_out_type`` is set when the provider acted on an opt-out, opt-in or
    help keyword itself and has confirmed it already (``STOP``, ``START``, ``HELP``).
    """

    provider_id: str | None
    from_phone: str | None
    to_phone: str | None
    body: str
    opt_out_type: str | None = None
    channel: str = "sms"  # "whatsapp" when it came from a whatsapp: address


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's later word on a message it accepted (a status callback).

    ``status`` is the provider's status word in lower case (queued, sending, sent,
    delivered, undelivered, failed, read …), as in :class:`ProviderReceipt`;
    ``error_code`` is the provider's code, classified by ``SmsGateway.explain_error``.
    """

    provider_id: str
    status: str
    error_code: int | None = None


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

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        """Hand one WhatsApp message to the provider (``to`` is the E.164 number);
        raise SmsSendError when it refuses."""
        ...

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        """Look a message up at the provider, for reconciling a send that crashed midway."""
        ...

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        """Classify one of this provider's error codes (a refused send, a failed
        delivery, a code stored on a message or a participant) and say it in words,
        for people in ``language``."""
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

    def values(self, key: str, locale: str, /, **params: object) -> dict[str, str]:
        """Each placeholder's finished value, as ``render`` fills it in."""
        ...


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
