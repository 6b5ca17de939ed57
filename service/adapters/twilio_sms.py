"""SmsGateway on the official twilio SDK's async client.

What the SDK (9.13) does not do for us, handled here:

* **Base URL.** ``TWILIO_API_BASE_URL`` (a regional edge, an egress proxy, a local test
  double) replaces the ``api.twilio.com`` domain's ``base_url``. That is the attribute
  every Messages request *and* every ``next_page_uri`` is resolved against, so paging
  follows too, and a path prefix (``https://proxy/twilio``) is kept. Edge/region host
  rewriting is switched off so an ambient ``TWILIO_EDGE`` cannot redirect the base URL.
* **Timeout.** ``AsyncTwilioHttpClient(timeout=...)`` stores the value but never passes
  it to aiohttp, and an unset per-request timeout becomes *no timeout at all*. Our
  subclass applies it to every request.
* **Logging.** The SDK logs each request's query string at INFO; a list filtered by
  ``To`` would put a participant's number in the log. Our subclass logs one DEBUG line
  with method and path only.
* **Auth.** The SDK authenticates with ``aiohttp.BasicAuth``/``auth=``, deprecated in
  aiohttp 3.14; our subclass sends the same ``Authorization: Basic`` header directly.

No automatic retries: a retried POST can send the same reminder twice. Every transient
failure of ``send`` is ambiguous (the message may have been accepted before the
connection broke); callers reconcile with ``find_sent`` before trying again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from service.adapters.redaction import redact_phones
from service.adapters.twilio_errors import explain_twilio_error
from service.ports import ProviderError, ProviderReceipt, SmsSendError, WhatsAppContent

__all__ = ["WHATSAPP_PREFIX", "TwilioSmsGateway"]

WHATSAPP_PREFIX = "whatsapp:"  # Twilio's channel address: whatsapp:+56…

logger = logging.getLogger("service.sms.twilio")

T = TypeVar("T")


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client, with its one transport call replaced.

    Replaced rather than wrapped because the original (a) drops the configured timeout,
    (b) logs query strings at INFO, and (c) authenticates with ``aiohttp.BasicAuth`` and
    ``auth=``, both deprecated in aiohttp 3.14 (warning on every request) and gone in 4.
    Everything else (session, pooling, ``close``) is the SDK's own.
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  # the SDK's signature, overridden
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(auth[0], auth[1])
        self.logger.debug("twilio %s %s", method.upper(), urlsplit(url).path)
        query = {
            k: v if isinstance(v, str | int | float) else str(v) for k, v in (params or {}).items()
        }
        session: aiohttp.ClientSession = self.session
        async with session.request(
            method.upper(),
            url,
            params=query,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
        self.logger.debug("twilio response %s", response.status)
        return Response(response.status, text, response.headers)


def _send_error(exc: TwilioRestException | TwilioServiceException) -> SmsSendError:
    status = exc.status
    code = exc.code if isinstance(exc.code, int) and exc.code >= 10000 else None
    detail = exc.msg if isinstance(exc, TwilioRestException) else exc.detail or exc.title
    # Twilio echoes the number in some messages ("Invalid 'To' Phone Number: +569...").
    return SmsSendError(
        f"twilio refused ({status}, code {code}): {redact_phones(str(detail))}",
        code=code,
        http_status=status,
        failure=explain_twilio_error(code).failure,
    )


def _receipt(message: Any) -> ProviderReceipt:
    return ProviderReceipt(
        provider_id=str(message.sid),
        status=str(message.status),
        error_code=message.error_code,
        sent_at=message.date_sent or message.date_created,
    )


class TwilioSmsGateway:
    """SmsGateway over ``twilio.rest.Client`` with the SDK's async (aiohttp) client."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        whatsapp_from: str | None = None,
        api_base_url: str = "https://api.twilio.com",
        timeout_s: float = 10,
        find_skew_s: float = 120,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
        if not messaging_service_sid and not from_number:
            raise ValueError("one of TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER is needed")
        parts = urlsplit(api_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"TWILIO_API_BASE_URL must be an http(s) URL, got {api_base_url!r}")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._messaging_service_sid = messaging_service_sid
        self._from_number = from_number
        self._whatsapp_from = whatsapp_from
        self._api_base_url = api_base_url.rstrip("/")
        self._timeout_s = float(timeout_s)
        self._find_skew = timedelta(seconds=find_skew_s)
        self._client: Client | None = None
        self._http: _HttpClient | None = None

    def _get_client(self) -> Client:
        # Built on first use: aiohttp's ClientSession must be created inside a running
        # event loop, and the app factory may construct gateways before there is one.
        if self._client is None:
            self._http = _HttpClient(
                timeout=self._timeout_s, logger=logging.getLogger("service.sms.twilio.http")
            )
            client = Client(self._account_sid, self._auth_token, http_client=self._http)
            client.edge = None  # the base URL is authoritative; see module docstring
            client.region = None
            client.api.base_url = self._api_base_url
            self._client = client
        return self._client

    async def _call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _send_error(exc) from None
        except TwilioException as exc:
            # A list page that did not answer 200 ("Unable to fetch page", response):
            # no Twilio error code, so never proof that a message was not accepted.
            status = getattr(exc.args[1], "status_code", None) if len(exc.args) > 1 else None
            message = f"twilio {what} failed (http {status})"
            raise SmsSendError(message, http_status=status) from None
        except TimeoutError as exc:
            raise SmsSendError(f"twilio {what} timed out after {self._timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            raise SmsSendError(f"twilio {what} failed: {type(exc).__name__}") from exc
        except json.JSONDecodeError as exc:
            raise SmsSendError(f"twilio {what}: unreadable response") from exc

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        client = self._get_client()
        params: dict[str, Any] = {"to": to, "body": body}
        if self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        if self._from_number:
            params["from_"] = self._from_number
        if status_callback:
            params["status_callback"] = status_callback
        if validity_period_s is not None:
            params["validity_period"] = validity_period_s
        message = await self._call("send", lambda: client.messages.create_async(**params))
        return _receipt(message)

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        """Through the same Messages API: ``whatsapp:`` addresses on both sides (the
        Messaging Service's WhatsApp sender when no ``whatsapp_from`` is set), the
        template by ``ContentSid`` and ``ContentVariables`` outside the 24-hour window,
        else the text as ``Body``. No validity period: WhatsApp keeps its own."""
        client = self._get_client()
        params: dict[str, Any] = {"to": WHATSAPP_PREFIX + to}
        if self._whatsapp_from:
            params["from_"] = WHATSAPP_PREFIX + self._whatsapp_from
        elif self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        if content.content_sid:
            params["content_sid"] = content.content_sid
            params["content_variables"] = json.dumps(content.variables or {}, ensure_ascii=False)
        else:
            params["body"] = content.body
        if status_callback:
            params["status_callback"] = status_callback
        message = await self._call("send", lambda: client.messages.create_async(**params))
        return _receipt(message)

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        """The newest message to ``to`` with exactly this body, created at or after
        ``since`` (less ``find_skew_s`` for clock drift between us and Twilio).

        First asks Twilio for ``To=to, DateSent>=since's UTC date``. A message still
        queued or scheduled has no ``date_sent`` and escapes that filter, so when nothing
        matches we also read the newest messages to that number unfiltered: a miss here
        means a resend, and a resend is a duplicate SMS to a participant.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if channel == "whatsapp":
            to = WHATSAPP_PREFIX + to  # a template send's body is the template, filled in
        client = self._get_client()
        earliest = since.astimezone(UTC) - self._find_skew
        day = earliest.date().isoformat()
        listed = await self._call(
            "lookup",
            lambda: client.messages.list_async(to=to, date_sent_after=day, limit=200),
        )
        match = self._newest_match(listed, body, earliest)
        if match is None:
            recent = await self._call(
                "lookup", lambda: client.messages.list_async(to=to, limit=50, page_size=50)
            )
            match = self._newest_match(recent, body, earliest)
        if match is None:
            return None
        return _receipt(match)

    @staticmethod
    def _newest_match(messages: list[Any], body: str, earliest: datetime) -> Any | None:
        candidates = [
            m
            for m in messages
            if m.body == body
            and (m.date_created is None or m.date_created >= earliest)
            and m.direction != "inbound"
        ]
        if not candidates:
            return None
        floor = datetime.min.replace(tzinfo=UTC)
        return max(candidates, key=lambda m: (m.date_created or floor, m.date_sent or floor))

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        return explain_twilio_error(code, language)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._client = None
        self._http = None
