"""The embedded default SMS gateway: nothing leaves the machine.

A newcomer running ``followup serve`` must see reminders "go out" without a Twilio
account, so every send succeeds at once with status ``delivered``. What was sent stays
in the database (the caller's job) and in a small in-memory ring for the demo; the log
gets one line with a masked number and the size of the text, never the text itself —
a reminder body names a visit and a clinic, which is health information.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from service.adapters.redaction import mask_phone
from service.adapters.twilio_errors import explain_twilio_error
from service.domain.sms_encoding import analyze
from service.ports import (
    Clock,
    ProviderError,
    ProviderReceipt,
    SmsFailure,
    SmsSendError,
    SystemClock,
    WhatsAppContent,
)

__all__ = ["ConsoleMessage", "ConsoleSmsGateway"]

logger = logging.getLogger("service.sms.console")

# Same rule Twilio applies before answering 21211, so a demo built on the console
# gateway meets the same refusal as production would. Segments are the domain's count
# (the one previews and the send cap use), so the log line agrees with them.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One message the console gateway 'sent'; kept in memory only."""

    provider_id: str
    to: str
    body: str
    sent_at: datetime
    segments: int
    status_callback: str | None = None
    validity_period_s: int | None = None
    channel: str = "sms"
    content_sid: str | None = None


class ConsoleSmsGateway:
    """SmsGateway that delivers instantly into memory and one redacted log line."""

    name = "console"

    def __init__(self, *, keep_last: int = 200, clock: Clock | None = None) -> None:
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        self._clock = clock or SystemClock()
        self._sent: deque[ConsoleMessage] = deque(maxlen=keep_last)

    @property
    def sent(self) -> list[ConsoleMessage]:
        """The most recent messages, oldest first (bounded by ``keep_last``)."""
        return list(self._sent)

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        if not _E164.match(to):
            raise SmsSendError(
                "invalid 'To' phone number", code=21211, failure=SmsFailure.INVALID_NUMBER
            )
        if not body:
            raise SmsSendError(
                "message body is required", code=21602, failure=SmsFailure.MESSAGE_REJECTED
            )
        message = ConsoleMessage(
            provider_id="CONSOLE" + uuid.uuid4().hex,
            to=to,
            body=body,
            sent_at=self._clock.now(),
            segments=analyze(body).segments,
            status_callback=status_callback,
            validity_period_s=validity_period_s,
        )
        self._sent.append(message)
        logger.info(
            "console sms %s to %s: %d chars, %d segment(s)",
            message.provider_id,
            mask_phone(to),
            len(body),
            message.segments,
        )
        return ProviderReceipt(
            provider_id=message.provider_id, status="delivered", sent_at=message.sent_at
        )

    async def send_whatsapp(
        self, to: str, content: WhatsAppContent, *, status_callback: str | None = None
    ) -> ProviderReceipt:
        """Delivered at once, like an SMS; the log line says it went by WhatsApp and
        which template carried it (or free-form, inside the 24-hour window)."""
        if not _E164.match(to):
            raise SmsSendError(
                "invalid 'To' phone number", code=21211, failure=SmsFailure.INVALID_NUMBER
            )
        message = ConsoleMessage(
            provider_id="CONSOLE" + uuid.uuid4().hex,
            to=to,
            body=content.body,
            sent_at=self._clock.now(),
            segments=1,
            status_callback=status_callback,
            channel="whatsapp",
            content_sid=content.content_sid,
        )
        self._sent.append(message)
        logger.info(
            "console whatsapp %s to %s: %d chars, %s",
            message.provider_id,
            mask_phone(to),
            len(content.body),
            f"template {content.content_sid}" if content.content_sid else "free-form",
        )
        return ProviderReceipt(
            provider_id=message.provider_id, status="delivered", sent_at=message.sent_at
        )

    async def find_sent(
        self, to: str, body: str, since: datetime, *, channel: str = "sms"
    ) -> ProviderReceipt | None:
        for message in reversed(self._sent):
            if (
                message.to == to
                and message.channel == channel
                and message.body == body
                and message.sent_at >= since
            ):
                return ProviderReceipt(
                    provider_id=message.provider_id, status="delivered", sent_at=message.sent_at
                )
        return None

    def explain_error(self, code: int | None, language: str = "en") -> ProviderError:
        """Twilio's table: the console stands in for Twilio and refuses with its codes."""
        return explain_twilio_error(code, language)

    async def aclose(self) -> None:
        """Nothing to release; the memory ring stays readable for the demo."""
