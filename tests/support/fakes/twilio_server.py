"""A Twilio-compatible HTTP server (REST API 2010-04-01, Messages) for tests and benches.

Why a real server and not a mocked SDK: the contract tests must exercise the official
SDK end to end (URL building, form encoding, basic auth, error parsing, paging), and a
benchmark must pay for real HTTP. It runs aiohttp.web on its own event loop in a daemon
thread, so it works the same from sync code, from any pytest-asyncio loop and across
tests, and a slow handler never blocks the code under test.

    with TwilioFakeServer() as twilio:          # or: async with TwilioFakeServer() as twilio
        gateway = TwilioSmsGateway(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN,
                                   messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
                                   api_base_url=twilio.base_url)

Also here, as pure functions: the signed webhooks Twilio posts back to us (status
callbacks and inbound SMS), returning ``(headers, form)`` for the test to post.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Self
from urllib.parse import urlencode

import phonenumbers
from aiohttp import BasicAuth, web
from twilio.request_validator import HMAC_SHA1, SIGNATURE_HEADER, RequestValidator

from tests.support.fakes.whatsapp_rules import PREFIX as WHATSAPP
from tests.support.fakes.whatsapp_rules import WhatsAppRules

API_VERSION = "2010-04-01"
TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "fedcba9876543210" * 2
TEST_MESSAGING_SERVICE_SID = "MG" + "00112233445566778899aabbccddeeff"
TEST_FROM_NUMBER = "+15005550006"  # Twilio's magic "valid sender" for test credentials

# Twilio's magic "To" numbers for test credentials, and what they answer.
MAGIC_TO_NUMBERS: dict[str, int] = {
    "+15005550001": 21211,  # invalid number
    "+15005550002": 21612,  # cannot route to this number
    "+15005550003": 21408,  # no international permission
    "+15005550004": 21610,  # blocked (replied STOP)
    "+15005550009": 21614,  # not SMS-capable
}

ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service unavailable",
    21211: "Invalid 'To' Phone Number: {to}",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",  # noqa: E501  # Twilio's wording
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from_} via SMS.",  # noqa: E501  # Twilio's wording
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21619: "A text message body, media URL, or Content SID is required.",
}
_DEFAULT_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = frozenset("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """Segments as Twilio counts them without Smart Encoding (GSM-7 160/153, UCS-2 70/67)."""
    if all(ch in _GSM7 or ch in _GSM7_EXT for ch in body):
        units, single, multi = sum(2 if ch in _GSM7_EXT else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's timestamp format: ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    return (
        None if moment is None else format_datetime(moment.astimezone(UTC).replace(microsecond=0))
    )


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def twilio_error(
    status: int, code: int | None = None, message: str | None = None
) -> dict[str, Any]:
    """Twilio's JSON error body."""
    code = code or _DEFAULT_CODE_FOR_STATUS.get(status, status)
    body: dict[str, Any] = {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if code == 20003:
        body["detail"] = "Your AccountSid or AuthToken was incorrect."
    return body


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the server saw, whatever it answered."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    auth: tuple[str, str] | None


@dataclass(slots=True)
class StoredMessage:
    """An accepted message: the form fields we sent and Twilio's resource for it."""

    sid: str
    form: dict[str, str]
    resource: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None = None
    seq: int = 0

    @property
    def to(self) -> str:
        return self.form["To"]

    @property
    def body(self) -> str:
        """What the person receives (a WhatsApp template filled in, else the Body)."""
        return str(self.resource.get("body") or self.form.get("Body", ""))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One message creation the server accepted (stored), whatever it then answered."""

    sid: str
    to: str
    body: str
    answered: str  # "201", "lost", "hang", or the error status it answered after storing


@dataclass(slots=True)
class _Fault:
    status: int
    code: int | None
    message: str | None


CHAOS_KINDS = (
    "fail_500",  # refused before storing, 500 (not accepted: a lookup finds nothing)
    "reset",  # connection reset before storing
    "accept_500",  # stored, then a 500
    "accept_504",  # stored, then a proxy's 504
    "hang",  # stored, then no answer until after the client's timeout
    "lose",  # stored, then the connection drops
    "pause",  # answered correctly, but late
)


@dataclass(slots=True)
class _Chaos:
    """Random faults on message creations (and some lookups), reproducible by seed."""

    probability: float
    rng: random.Random
    hang_s: float
    pause_s: float
    lookup_failure: float
    kinds: tuple[str, ...] = CHAOS_KINDS
    counts: dict[str, int] = field(default_factory=dict)

    def pick(self) -> str | None:
        if self.rng.random() >= self.probability:
            return None
        kind = self.rng.choice(self.kinds)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return kind


@dataclass(slots=True)
class _State:
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    number_faults: dict[str, _Fault] = field(default_factory=dict)
    lose: int = 0
    delay_s: float = 0.0
    # Fault injection for the outbox's fault suite: each list entry is used once, in
    # order, by the next message creations (see ``accept_then_fail`` and friends).
    accept_then: list[_Fault | float] = field(default_factory=list)
    reset: int = 0
    chaos: _Chaos | None = None
    journal: list[JournalEntry] = field(default_factory=list)


class TwilioFakeServer:
    """Twilio's Messages API on 127.0.0.1, programmable for failure."""

    def __init__(
        self,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path_prefix: str = "",
        clock: Callable[[], datetime] | None = None,
        settle_status: str | None = "sent",
        service_sender: str = TEST_FROM_NUMBER,
        magic_numbers: bool = True,
    ) -> None:
        """``settle_status``: what a created message becomes right after the 201 (with
        ``date_sent`` set); ``None`` leaves it queued/accepted with no ``date_sent``.
        ``clock`` lets the server share a test's ManualClock (pass ``clock.now``)."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.path_prefix = path_prefix.rstrip("/")
        self.settle_status = settle_status
        self.service_sender = service_sender
        self._requested_port = port
        self._clock = clock or (lambda: datetime.now(UTC))
        self._magic = magic_numbers
        self._lock = threading.Lock()
        self._state = _State()
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.whatsapp = WhatsAppRules(self._clock)
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to pass as TWILIO_API_BASE_URL."""
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self._port}{self.path_prefix}"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready, failure), name="twilio-fake", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Twilio server did not start")
        if failure:
            raise failure[0]
        return self

    def _serve(
        self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]
    ) -> None:
        assert self._loop is not None
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            app = web.Application(client_max_size=1024**2)
            prefix = f"{self.path_prefix}/{API_VERSION}/Accounts/{{account}}/Messages"
            app.router.add_post(prefix + ".json", self._create)
            app.router.add_get(prefix + ".json", self._list)
            app.router.add_get(prefix + "/{sid}.json", self._fetch)
            app.router.add_route("*", "/{tail:.*}", self._not_found)
            # shutdown_timeout: do not wait on a handler parked in an artificial delay.
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.SockSite(self._runner, sock, backlog=1024).start())
        except BaseException as exc:  # surfaced by start()
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            # Handlers still parked in an artificial delay: cancel them, quietly.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = self._loop = self._runner = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ---- programming it --------------------------------------------------------------

    def reset(self) -> None:
        """Forget messages, requests and every programmed behaviour."""
        with self._lock:
            self._state = _State()
            self.whatsapp = WhatsAppRules(self._clock)
            if self._magic:
                for number, code in MAGIC_TO_NUMBERS.items():
                    self._state.number_faults[number] = _Fault(400, code, None)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``count`` message creations answer ``status`` with Twilio error ``code``
        (default by status: 429->20429, 500->20500, 503->20503, 401->20003)."""
        with self._lock:
            self._state.faults.extend(_Fault(status, code, message) for _ in range(count))

    def fail_number(
        self,
        number: str,
        code: int | None = 21610,
        *,
        status: int = 400,
        message: str | None = None,
    ) -> None:
        """Every send to ``number`` is refused with ``code``; ``code=None`` lifts it."""
        with self._lock:
            if code is None:
                self._state.number_faults.pop(number, None)
            else:
                self._state.number_faults[number] = _Fault(status, code, message)

    def lose_next(self, count: int = 1) -> None:
        """Accept and store the next ``count`` messages, then drop the connection without
        answering: a crash between Twilio's acceptance and our recording of it."""
        with self._lock:
            self._state.lose += count

    def accept_then_fail(self, count: int = 1, *, status: int = 504) -> None:
        """Store the next ``count`` messages, then answer ``status`` (a proxy's 504 after
        Twilio accepted, a 500 from an overloaded edge): the message *was* sent."""
        with self._lock:
            self._state.accept_then.extend(_Fault(status, None, None) for _ in range(count))

    def accept_then_hang(self, count: int = 1, *, seconds: float = 30.0) -> None:
        """Store the next ``count`` messages, then answer only after ``seconds`` (the
        client times out first): accepted, but the caller cannot know."""
        with self._lock:
            self._state.accept_then.extend(float(seconds) for _ in range(count))

    def reset_next(self, count: int = 1) -> None:
        """Drop the connection of the next ``count`` creations *before* storing them:
        a reset on the way in, nothing sent."""
        with self._lock:
            self._state.reset += count

    def set_chaos(
        self,
        probability: float,
        *,
        seed: int = 8,
        hang_s: float = 3.0,
        pause_s: float = 0.3,
        lookup_failure: float = 0.0,
        kinds: tuple[str, ...] = CHAOS_KINDS,
    ) -> None:
        """From now on each creation meets one of ``kinds`` with ``probability``, and
        each lookup (list) fails with a 500 with ``lookup_failure``; 0 stops it."""
        with self._lock:
            self._state.chaos = (
                _Chaos(probability, random.Random(seed), hang_s, pause_s, lookup_failure, kinds)
                if probability > 0 or lookup_failure > 0
                else None
            )

    @property
    def chaos_counts(self) -> dict[str, int]:
        """How many of each fault the chaos mode injected."""
        with self._lock:
            return dict(self._state.chaos.counts) if self._state.chaos else {}

    @property
    def journal(self) -> list[JournalEntry]:
        """Every message accepted, in order, with what the client was answered."""
        with self._lock:
            return list(self._state.journal)

    @property
    def delay_s(self) -> float:
        """Every request waits this long before it is handled (a slow Twilio)."""
        return self._state.delay_s

    @delay_s.setter
    def delay_s(self, seconds: float) -> None:
        with self._lock:
            self._state.delay_s = seconds

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """Move a stored message on (``delivered``, ``undelivered`` ...), as fetch/list show."""
        with self._lock:
            message = self._state.messages[sid]
            if message.sent_at is None and status not in ("queued", "accepted", "scheduled"):
                message.sent_at = self._clock()
            message.resource.update(
                status=status,
                error_code=error_code,
                error_message=None if error_code is None else f"Error {error_code}",
                date_sent=rfc2822(message.sent_at),
                date_updated=rfc2822(self._clock()),
            )

    # ---- looking at it ---------------------------------------------------------------

    @property
    def messages(self) -> list[StoredMessage]:
        """Accepted messages, oldest first (copies)."""
        with self._lock:
            return [
                replace(m, form=dict(m.form), resource=dict(m.resource))
                for m in self._state.messages.values()
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, rejected ones included, oldest first."""
        with self._lock:
            return list(self._state.requests)

    def message(self, sid: str) -> StoredMessage:
        with self._lock:
            m = self._state.messages[sid]
            return replace(m, form=dict(m.form), resource=dict(m.resource))

    def status_callback_for(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """``(url, headers, form)`` of the callback Twilio would post for a stored message,
        to the StatusCallback it was sent with unless ``url`` is given."""
        m = self.message(sid)
        target = url or m.form.get("StatusCallback")
        if not target:
            raise ValueError(f"message {sid} was sent without a StatusCallback")
        headers, form = status_callback(
            target,
            auth_token=self.auth_token,
            account_sid=self.account_sid,
            message_sid=sid,
            status=status,
            to=m.to,
            from_=m.form.get("From") or m.resource.get("from") or self.service_sender,
            messaging_service_sid=m.form.get("MessagingServiceSid"),
            error_code=error_code,
        )
        return target, headers, form

    def inbound_whatsapp(
        self, url: str, *, from_: str, body: str, to: str = TEST_FROM_NUMBER, **kwargs: Any
    ) -> tuple[dict[str, str], dict[str, str]]:
        """A signed incoming WhatsApp message from ``from_`` (E.164): the webhook form
        Twilio posts (``whatsapp:`` addresses, the profile name and WaId), and the
        person's 24-hour window opens on this server as it would at Twilio."""
        self.whatsapp.wrote(from_)
        extra = {"ProfileName": "Participante", "WaId": from_.lstrip("+"), "MessageType": "text"}
        extra.update(kwargs.pop("extra", None) or {})
        return inbound_sms(
            url,
            from_=WHATSAPP + from_,
            to=WHATSAPP + to,
            body=body,
            auth_token=self.auth_token,
            account_sid=self.account_sid,
            extra=extra,
            **kwargs,
        )

    # ---- HTTP handlers (run on the server's own loop) --------------------------------

    def _json(self, status: int, payload: Mapping[str, Any], **headers: str) -> web.Response:
        headers["Twilio-Request-Id"] = _sid("RQ")
        return web.Response(
            status=status,
            body=json.dumps(payload).encode(),
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )

    def _error(
        self, status: int, code: int | None = None, message: str | None = None, **fmt: str
    ) -> web.Response:
        body = twilio_error(status, code, message)
        if message is None:
            body["message"] = body["message"].format_map({"to": "", "from_": "", "path": "", **fmt})
        extra = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
        return self._json(status, body, **extra)

    async def _enter(self, request: web.Request) -> tuple[dict[str, str], web.Response | None]:
        """Record, delay, authenticate: what every route does first."""
        form: dict[str, str] = {}
        if request.method == "POST":
            posted = await request.post()
            form = {k: str(v) for k, v in posted.items()}
        auth: tuple[str, str] | None = None
        header = request.headers.get("Authorization")
        if header:
            try:
                decoded = BasicAuth.decode(header)
                auth = (decoded.login, decoded.password)
            except ValueError:
                auth = None
        with self._lock:
            state = self._state
            state.requests.append(
                RecordedRequest(request.method, request.path, dict(request.query), form, auth)
            )
            delay = state.delay_s
        if delay > 0:
            await asyncio.sleep(delay)
            if self._state is not state:
                # reset() ran while this request was parked: it belongs to a test that
                # is over, and must not land in the next one's messages.
                return form, self._error(503, 20503)
        if auth != (self.account_sid, self.auth_token):
            return form, self._error(401, 20003)
        if request.match_info.get("account") != self.account_sid:
            return form, self._error(404, 20404, path=request.path)
        return form, None

    async def _create(self, request: web.Request) -> web.Response:
        form, refusal = await self._enter(request)
        if refusal is not None:
            return refusal
        to, sender, service = (
            form.get("To", ""),
            form.get("From", ""),
            form.get("MessagingServiceSid", ""),
        )
        body = form.get("Body", "")
        with self._lock:
            fault = self._state.faults.pop(0) if self._state.faults else None
            number_fault = self._state.number_faults.get(to)
        if fault is not None:
            return self._error(fault.status, fault.code, fault.message, to=to, from_=sender)
        if not to:
            return self._error(400, 21604)
        if not sender and not service:
            return self._error(400, 21603)
        if not body and "MediaUrl" not in form and "ContentSid" not in form:
            return self._error(400, 21602 if sender else 21619)
        if len(body) > 1600:
            return self._error(400, 21617)
        if not _is_valid_number(to.removeprefix(WHATSAPP)):
            return self._error(400, 21211, to=to)
        if to.startswith(WHATSAPP):
            refused = self.whatsapp.refusal(form, via_service=bool(service))
            if refused is not None:
                return self._error(400, refused[0], refused[1])
            body = self.whatsapp.body(form)
        if number_fault is not None:
            return self._error(
                number_fault.status, number_fault.code, number_fault.message, to=to, from_=sender
            )
        with self._lock:
            chaos = self._state.chaos.pick() if self._state.chaos else None
            hang_s = self._state.chaos.hang_s if self._state.chaos else 0.0
            pause_s = self._state.chaos.pause_s if self._state.chaos else 0.0
            reset = self._state.reset > 0 or chaos == "reset"
            if self._state.reset > 0:
                self._state.reset -= 1
            if chaos == "lose":
                self._state.lose += 1
            elif chaos in ("accept_500", "accept_504"):
                self._state.accept_then.insert(0, _Fault(int(chaos[-3:]), None, None))
            elif chaos == "hang":
                self._state.accept_then.insert(0, hang_s)
        if chaos == "fail_500":
            return self._error(500, 20500)
        if chaos == "pause":
            await asyncio.sleep(pause_s)
        if reset and request.transport is not None:
            request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        message = self._store(form)
        with self._lock:
            lose = self._state.lose > 0
            if lose:
                self._state.lose -= 1
            after = None if lose or not self._state.accept_then else self._state.accept_then.pop(0)
            answered = (
                "lost"
                if lose
                else "201"
                if after is None
                else "hang"
                if isinstance(after, float)
                else str(after.status)
            )
            self._state.journal.append(JournalEntry(message["sid"], to, body, answered))
        if lose and request.transport is not None:
            request.transport.abort()
        if isinstance(after, _Fault):
            return self._error(after.status, after.code, after.message, to=to, from_=sender)
        if isinstance(after, float):
            await asyncio.sleep(after)
        return self._json(201, message)

    def _store(self, form: dict[str, str]) -> dict[str, Any]:
        """Keep the message; return the resource as the 201 shows it (before settling)."""
        now = self._clock()
        sid = _sid("SM")
        via_service = "MessagingServiceSid" in form
        whatsapp = form["To"].startswith(WHATSAPP)
        body = self.whatsapp.body(form) if whatsapp else form.get("Body", "")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": rfc2822(now),
            "date_sent": None,
            "date_updated": rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From") or None,
            "messaging_service_sid": form.get("MessagingServiceSid") or None,
            "num_media": "0",
            # A Messaging Service picks the sender later, and only then counts segments.
            "num_segments": "0" if via_service else str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if via_service else "queued",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": form["To"],
            "uri": uri,
        }
        answer = dict(resource)
        with self._lock:
            self._seq += 1
            stored = StoredMessage(sid, form, resource, now, seq=self._seq)
            self._state.messages[sid] = stored
            if self.settle_status is not None:
                stored.sent_at = now
                resource.update(
                    status=self.settle_status,
                    date_sent=rfc2822(now),
                    num_segments="1" if whatsapp else str(num_segments(body)),
                    **(
                        {"from": self.service_sender}
                        if via_service and not form.get("From")
                        else {}
                    ),
                )
        return answer

    async def _fetch(self, request: web.Request) -> web.Response:
        _, refusal = await self._enter(request)
        if refusal is not None:
            return refusal
        with self._lock:
            message = self._state.messages.get(request.match_info["sid"])
            resource = None if message is None else dict(message.resource)
        if resource is None:
            return self._error(404, 20404, path=request.path)
        return self._json(200, resource)

    async def _list(self, request: web.Request) -> web.Response:
        _, refusal = await self._enter(request)
        if refusal is not None:
            return refusal
        with self._lock:
            chaos = self._state.chaos
            failing = chaos is not None and chaos.rng.random() < chaos.lookup_failure
        if failing:
            return self._error(500, 20500)
        q = request.query
        try:
            page_size = min(max(int(q.get("PageSize", "50")), 1), 1000)
            page = max(int(q.get("Page", "0")), 0)
            exact, after, before = (
                _parse_when(q.get(k)) for k in ("DateSent", "DateSent>", "DateSent<")
            )
        except ValueError:
            return self._error(400, 20001, "Invalid filter or paging parameter")
        with self._lock:
            found = [
                m
                for m in self._state.messages.values()
                if (not q.get("To") or m.resource["to"] == q["To"])
                and (not q.get("From") or m.resource["from"] == q["From"])
                and _date_ok(m.sent_at, exact, after, before)
            ]
            # Newest first, as Twilio lists them.
            found.sort(key=lambda m: (m.sent_at or m.created_at, m.seq), reverse=True)
            rows = [dict(m.resource) for m in found]
        start = page * page_size
        token = q.get("PageToken", "")
        if token.startswith("PA"):
            after_sid = token[2:]
            start = next((i + 1 for i, r in enumerate(rows) if r["sid"] == after_sid), len(rows))
        chunk = rows[start : start + page_size]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        keep = {k: v for k, v in q.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(page_no: int, extra: dict[str, str] | None = None) -> str:
            return (
                base
                + "?"
                + urlencode({**keep, "PageSize": page_size, "Page": page_no, **(extra or {})})
            )

        has_next = start + page_size < len(rows)
        payload = {
            "end": start + max(len(chunk) - 1, 0),
            "first_page_uri": uri(0),
            "messages": chunk,
            "next_page_uri": uri(page + 1, {"PageToken": "PA" + chunk[-1]["sid"]})
            if has_next and chunk
            else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": uri(page),
        }
        return self._json(200, payload)

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(404, 20404, path=request.path)


def _is_valid_number(number: str) -> bool:
    if not _E164.match(number):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _parse_when(value: str | None) -> date | datetime | None:
    """``YYYY-MM-DD`` (what Twilio documents) or an ISO datetime (what the SDK sends)."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date_ok(sent: datetime | None, exact: Any, after: Any, before: Any) -> bool:
    if exact is None and after is None and before is None:
        return True
    if sent is None:  # never sent: no DateSent filter can match it
        return False
    sent = sent.astimezone(UTC).replace(microsecond=0)

    def key(bound: date | datetime) -> date | datetime:
        return sent if isinstance(bound, datetime) else sent.date()

    return (
        (exact is None or key(exact) == exact)
        and (after is None or key(after) >= after)
        and (before is None or key(before) <= before)
    )


# ---- webhooks Twilio sends to us (pure helpers) --------------------------------------


def sign(
    url: str, params: Mapping[str, str], auth_token: str, *, algorithm: str = HMAC_SHA1
) -> str:
    """``X-Twilio-Signature`` for a form post to ``url`` (exactly as Twilio requested it)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params), algorithm))


def signed_headers(url: str, form: Mapping[str, str], auth_token: str) -> dict[str, str]:
    """The headers Twilio puts on a webhook request."""
    return {
        SIGNATURE_HEADER: sign(url, form, auth_token),
        "Content-Type": "application/x-www-form-urlencoded",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        "User-Agent": "TwilioProxy/1.1",
    }


def status_callback(
    url: str,
    *,
    message_sid: str,
    status: str,
    to: str,
    from_: str = TEST_FROM_NUMBER,
    auth_token: str = TEST_AUTH_TOKEN,
    account_sid: str = TEST_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
    error_code: int | None = None,
    raw_dlr_done_date: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """A signed message status callback. ``failed``/``undelivered`` always carry an
    ErrorCode (30008 "unknown" unless given), as Twilio's do."""
    form = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    if status in ("failed", "undelivered"):
        form["ErrorCode"] = str(error_code or 30008)
    elif error_code is not None:
        raise ValueError("only failed or undelivered callbacks carry an ErrorCode")
    if raw_dlr_done_date is not None:  # YYMMDDhhmm, on carrier delivery receipts
        form["RawDlrDoneDate"] = raw_dlr_done_date
    return signed_headers(url, form, auth_token), form


def _country(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def inbound_sms(
    url: str,
    *,
    from_: str,
    body: str,
    to: str = TEST_FROM_NUMBER,
    auth_token: str = TEST_AUTH_TOKEN,
    account_sid: str = TEST_ACCOUNT_SID,
    message_sid: str | None = None,
    messaging_service_sid: str | None = None,
    opt_out_type: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """A signed incoming-message webhook. ``opt_out_type`` (STOP, START, HELP) is what
    Advanced Opt-Out adds when the body is a keyword. City/state/zip are empty, as
    Twilio sends them for Chilean numbers; ``extra`` adds or overrides fields."""
    sid = message_sid or _sid("SM")
    form = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(num_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    if opt_out_type:
        form["OptOutType"] = opt_out_type
    form.update(extra or {})
    return signed_headers(url, form, auth_token), form
