"""One-time texts (a sign-in code): sent by the request that made them, never stored.

``enqueue_one_time`` + ``send_one_time`` are for a text that must never be stored:
the row is born claimed by the caller with a placeholder body, and the text is handed
to the same send-and-record path as every other message (the shared send cap,
provider id, audit, blocking a refused number). An ambiguous outcome cannot be
looked up (the provider's copy is the only one of the text) nor resent, so it fails
the row; the person asks for a new code.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from service.actions.outbox._dispatch import status_callback_url
from service.actions.outbox._enqueue import PRIORITY
from service.actions.outbox._reconcile import LEASE, handle_send_error, kept_alive
from service.actions.outbox._recording import record_failure, record_sent
from service.actions.outbox._send_cap import SendCap
from service.db.models import OutboundMessage, Participant
from service.domain.identities import message_dedupe_key
from service.domain.sms_encoding import SmsEncoding
from service.domain.states import MessageKind, MessageStatus
from service.ports import SmsSendError
from service.runtime import Runtime

__all__ = ["enqueue_one_time", "send_one_time"]

_CAP_PATIENCE = 3  # a person is waiting for a code: wait for a send token this many times


async def enqueue_one_time(
    rt: Runtime,
    *,
    participant: Participant,
    purpose: str,
    occurrence: str,
    message_key: str,
    placeholder: str,
    encoding: SmsEncoding,
    expires_in: timedelta,
) -> OutboundMessage:
    """A row for a text that is never stored, claimed by the caller (call inside its
    transaction; send with :func:`send_one_time` after the commit)."""
    now = rt.clock.now()
    return await OutboundMessage.create(
        participant_id=participant.id,
        kind=MessageKind.OTP,
        purpose=purpose,
        occurrence=occurrence,
        dedupe_key=message_dedupe_key(participant.id, purpose, occurrence),
        message_key=message_key,
        params={},
        language=participant.language,
        body=placeholder,
        encoding=encoding.encoding,
        segments=encoding.segments,
        send_at=now,
        expires_at=now + expires_in,
        status=MessageStatus.SENDING,
        attempts=1,
        claim_token=uuid.uuid4().hex,
        claimed_at=now,
        lease_until=now + LEASE,
        priority=PRIORITY["otp"],
        version=1,
        created_at=now,
        updated_at=now,
    )


async def send_one_time(
    rt: Runtime, row: OutboundMessage, participant: Participant, text: str, *, secret: str
) -> OutboundMessage:
    """Send a row made by :func:`enqueue_one_time` with its text; never raises.
    ``secret`` (the code) is blanked from anything recorded about a failure."""
    token = row.claim_token or ""
    cap = SendCap(rt.settings.sms_rate_per_second)
    for _ in range(_CAP_PATIENCE):
        grant = await cap.take(row.segments or 1, rt.clock.now())
        if grant.tokens:
            break
        await asyncio.sleep(min(grant.wait_s, 1.0))
    now = rt.clock.now()
    validity = int(max((row.expires_at - now).total_seconds(), 60)) if row.expires_at else None
    try:
        async with kept_alive(rt, {token}):
            receipt = await rt.gateway.send(
                participant.phone,
                text,
                status_callback=status_callback_url(rt),
                validity_period_s=validity,
            )
    except SmsSendError as exc:
        exc.args = tuple(str(a).replace(secret, "******") for a in exc.args)
        await handle_send_error(rt, row, participant, True, participant.phone, exc)
    except Exception as exc:  # any other failure: the caller still got its 202
        await record_failure(rt, row, token, None, type(exc).__name__, participant, True)
    else:
        await record_sent(rt, row, token, receipt, sent_at=receipt.sent_at or now, how="send")
    return await OutboundMessage.get(id=row.id)
