"""Delivery receipts: the provider's status callbacks, applied in order, once.

Twilio posts a message's statuses in any order and sometimes more than once, so
every callback is ranked (queued/accepted < sending < sent < delivered/undelivered/
failed < read) and applied only when it moves the message forward: a late ``sent``
never overwrites ``delivered``, and a duplicate changes nothing.

A final failure is judged by its error code as the gateway classifies it
(``rt.gateway.explain_error``, :class:`service.ports.SmsFailure`): a transient one
(handset off, an unknown code …) re-plans the message with the retry policy's backoff
(``_retry``) while it still matters; one that blocks the number stops all SMS to
that participant (``_blocking``); a WhatsApp message WhatsApp could not deliver for a
reason SMS can overcome goes once by SMS instead (decision 0101). The codes themselves
are the provider's and stay on the rows; nothing here knows what a number means.

A receipt for an unknown provider id is answered like a known one (the provider
would otherwise retry it) and kept: it may be about a send not recorded yet. Twilio
may post a status callback while our own ``record_sent`` has not committed yet (the
provider is fast, our commit is behind a slow disk, or the send's response was lost
and the row is only matched later by a lookup). Dropping it would lose a
``delivered`` or, worse, a ``failed``/``undelivered`` that should have been retried
or have blocked a number. So :func:`keep_early_callback` stores it
(``early_status_callback``, keyed by MessageSid) when no row has that provider id
yet, and :func:`apply_early_callbacks` runs once a provider id is recorded: it takes
every callback kept for that sid and applies it through :func:`apply_status_callback`,
which ranks statuses, so the order in which they arrived or are applied does not
matter.

Both sides take the same per-sid lock (:func:`service.db.locks.serialize_on`), and the
recording side runs after its own commit: a callback either sees the recorded row or
is stored before the recording side looks, never neither. Callbacks for messages that
are never ours (another application on the same account) are dropped after
``KEEP_FOR``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from tortoise.transactions import in_transaction

from service.actions.outbox._blocking import block_participant, failure_of
from service.actions.outbox._enqueue import wake
from service.actions.outbox._retry import next_attempt
from service.actions.outbox._rows import audit_message
from service.db.locks import serialize_on
from service.db.models import EarlyStatusCallback, OutboundMessage, Participant
from service.domain.actors import TWILIO
from service.domain.states import AuditAction, MessageStatus, message_action
from service.domain.whatsapp import REFUSED, SMS, WHATSAPP
from service.ports import DeliveryReport, SmsFailure
from service.runtime import Runtime

__all__ = [
    "KEEP_FOR",
    "STATUS_RANK",
    "apply_early_callbacks",
    "apply_status_callback",
    "keep_early_callback",
    "sid_lock_key",
]

log = logging.getLogger("service.delivery")

KEEP_FOR: Final = timedelta(days=2)

STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
_FAILURES = frozenset({"undelivered", "failed"})
# Which rows a provider receipt moves: "delivered" from any state that has left us,
# "undelivered"/"failed" only before a delivery was reported.
_RECEIPT_DELIVERS = frozenset({MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED})
_RECEIPT_FAILS = frozenset({MessageStatus.SENDING, MessageStatus.SENT})


def sid_lock_key(sid: str) -> str:
    return f"provider-sid:{sid}"


async def keep_early_callback(rt: Runtime, sid: str, status: str, code: int | None) -> None:
    """Store a callback for a sid no row has (yet). Call inside the callback's
    transaction, after taking ``serialize_on(sid_lock_key(sid))``."""
    now = rt.clock.now()
    await EarlyStatusCallback.filter(received_at__lt=now - KEEP_FOR).delete()
    await EarlyStatusCallback.create(
        message_sid=sid[:64], status=status[:16], error_code=code, received_at=now
    )
    log.info("status callback kept until its message is recorded (%s)", status)


async def apply_early_callbacks(rt: Runtime, sid: str) -> int:
    """Apply the callbacks kept for ``sid``; call after the provider id has committed.
    Returns how many were applied."""
    async with in_transaction():
        await serialize_on(sid_lock_key(sid))
        kept = await EarlyStatusCallback.filter(message_sid=sid).order_by("id")
        if not kept:
            return 0
        await EarlyStatusCallback.filter(id__in=[row.id for row in kept]).delete()
        for row in kept:
            await apply_status_callback(rt, DeliveryReport(sid, row.status, row.error_code))
    log.info("applied %d early status callback(s)", len(kept))
    return len(kept)


async def apply_status_callback(rt: Runtime, report: DeliveryReport) -> bool:
    """Apply one (already authenticated) delivery report; False if its id is unknown."""
    sid, status, code = report.provider_id, report.status, report.error_code
    if not sid or status not in STATUS_RANK:
        return False
    now = rt.clock.now()
    async with in_transaction():
        await serialize_on(sid_lock_key(sid))
        row = await OutboundMessage.filter(provider_id=sid).select_for_update().first()
        if row is None:  # perhaps sent but not recorded yet: kept for record_sent
            await keep_early_callback(rt, sid, status, code)
            return False
        if STATUS_RANK[status] <= STATUS_RANK.get(row.provider_status or "", -1):
            return True  # a duplicate, or older news than what we know
        row.provider_status, row.updated_at = status, now
        fields = ["provider_status", "updated_at"]
        if status in ("delivered", "read") and row.status in _RECEIPT_DELIVERS:
            if row.delivered_at is None:
                row.delivered_at = now
            row.status = MessageStatus.DELIVERED
            fields += ["status", "delivered_at"]
        elif status == "sent" and row.status == MessageStatus.SENDING:
            row.status = MessageStatus.SENT
            fields.append("status")
        elif status in _FAILURES and row.status in _RECEIPT_FAILS:
            fields += await _failed(rt, row, status, code)
        await row.save(update_fields=fields)
    return True


async def _by_sms_instead(
    rt: Runtime, row: OutboundMessage, status: str, code: int | None
) -> list[str]:
    """WhatsApp reported it could not deliver (not on WhatsApp, outside the window …):
    it certainly did not arrive, so the same row goes once by SMS, due now (0101)."""
    now = rt.clock.now()
    row.status, row.send_at, row.channel = MessageStatus.PLANNED, now, SMS
    row.fallback_reason, row.content_sid, row.content_variables = REFUSED, None, None
    row.attempts = max(row.attempts - 1, 0)  # the WhatsApp try does not use up an SMS one
    await audit_message(now, TWILIO.label, AuditAction.MESSAGE_FALLBACK, row, error_code=code)
    log.info("message %s %s by WhatsApp (code %s): goes by SMS", row.id, status, code)
    wake(rt)
    return ["error_code", "status", "send_at", "channel", "fallback_reason", "content_sid",
            "content_variables", "attempts"]  # fmt: skip


async def _failed(rt: Runtime, row: OutboundMessage, status: str, code: int | None) -> list[str]:
    """Retry or give up on a message the carrier did not deliver; returns changed fields."""
    now = rt.clock.now()
    row.error_code = code
    retry_at = next_attempt(row, now)
    failure = failure_of(rt, code)
    wrong_channel = row.channel == WHATSAPP and failure is SmsFailure.WRONG_CHANNEL
    if wrong_channel and row.fallback_reason != REFUSED:  # once: never back to WhatsApp
        return await _by_sms_instead(rt, row, status, code)
    if retry_at is not None and not failure.permanent:
        # Attempts are kept: the dispatcher counts the next one when it claims the row.
        row.status, row.send_at = MessageStatus.PLANNED, retry_at
        log.info("message %s %s (code %s): retry planned", row.id, status, code)
        return ["error_code", "status", "send_at"]
    row.status = MessageStatus(status)
    await audit_message(now, TWILIO.label, message_action(status), row, error_code=code)
    participant_id = row.participant_id
    if code is not None and failure.blocks_number and participant_id is not None:
        participant = await Participant.get_or_none(id=participant_id)
        if participant is not None and row.to_phone in (None, participant.phone):
            await block_participant(rt, participant, code, actor=TWILIO)
    return ["error_code", "status"]
