"""Recording the outcome of a claimed send: sent (with the provider's id), or failed.

Every write is guarded by the claim that owns the row (``_rows.claimed_by``), so a
claim taken over by reconciliation is never overwritten. A failure with a code that
blocks the participant's own number stops all SMS to them (``_blocking``). Once a
send's provider id has committed, the status callbacks that arrived before it are
applied (``_receipts``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from tortoise.transactions import in_transaction

from service.actions.outbox._blocking import block_participant, failure_of
from service.actions.outbox._receipts import apply_early_callbacks
from service.actions.outbox._rows import audit_message, claimed_by
from service.db.models import OutboundMessage, Participant
from service.domain.actors import SYSTEM
from service.domain.states import AuditAction, MessageStatus
from service.ports import ProviderReceipt, SmsSendError
from service.runtime import SMS_PROVIDER, Runtime

__all__ = ["provider_record", "record_failure", "record_sent", "record_sent_many"]

log = logging.getLogger("service.delivery")


async def provider_record(rt: Runtime, row: OutboundMessage, to: str) -> ProviderReceipt | None:
    """The provider's record of this row's text to this number since the claim, unless
    that record already belongs to another row (then ours did not go out)."""
    if row.body is None or row.claimed_at is None:
        return None
    try:
        found = await rt.gateway.find_sent(to, row.body, since=row.claimed_at, channel=row.channel)
    except SmsSendError as exc:
        what = f"lookup failed (http {exc.http_status})"
        rt.neighbours.failed(SMS_PROVIDER, what, rt.clock.now())
        raise
    rt.neighbours.answered(SMS_PROVIDER)
    if found is None:
        return None
    taken = await OutboundMessage.filter(provider_id=found.provider_id).exclude(id=row.id).exists()
    return None if taken else found


async def apply_pending_callbacks(rt: Runtime, provider_ids: Sequence[str]) -> None:
    """After a send's provider id is committed, apply the status callbacks that arrived
    before it (Twilio can post ``sent``/``delivered`` before our record of the 201
    commits; ``_receipts`` kept them). Never raises into the
    dispatcher."""
    for provider_id in provider_ids:
        try:
            await apply_early_callbacks(rt, provider_id)
        except Exception:  # a kept callback waits for the next recording or its expiry
            log.exception("applying early status callbacks failed")


def _sent_values(receipt: ProviderReceipt, sent_at: datetime, now: datetime) -> dict[str, object]:
    delivered = receipt.status in ("delivered", "read")
    return {
        "status": MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
        "provider_id": receipt.provider_id,
        "provider_status": receipt.status[:16],
        "sent_at": sent_at,
        "delivered_at": now if delivered else None,
        "lease_until": None,
        "updated_at": now,
    }


async def record_sent(
    rt: Runtime,
    row: OutboundMessage,
    token: str,
    receipt: ProviderReceipt,
    *,
    sent_at: datetime,
    how: str,
) -> bool:
    """Record what the provider accepted (the console gateway answers "delivered" at
    once), with its id; False when the claim was lost in the meantime."""
    now = rt.clock.now()
    async with in_transaction():
        changed = await claimed_by(row.id, token).update(**_sent_values(receipt, sent_at, now))
        if changed:
            await audit_message(
                now,
                SYSTEM.label,
                AuditAction.MESSAGE_SENT,
                row,
                provider_id=receipt.provider_id,
                via=how,
            )
    if changed:
        await apply_pending_callbacks(rt, [receipt.provider_id])
    return bool(changed)


async def record_sent_many(
    rt: Runtime,
    sent: Sequence[tuple[OutboundMessage, str, ProviderReceipt]],
    *,
    sent_at: datetime,
) -> int:
    """``record_sent`` for a whole batch (row, claim token, receipt) in one transaction,
    one durable commit for all; returns how many were recorded (claims still held)."""
    now = rt.clock.now()
    recorded: list[str] = []
    async with in_transaction():
        for row, token, receipt in sent:
            if await claimed_by(row.id, token).update(**_sent_values(receipt, sent_at, now)):
                recorded.append(receipt.provider_id)
                await audit_message(
                    now,
                    SYSTEM.label,
                    AuditAction.MESSAGE_SENT,
                    row,
                    provider_id=receipt.provider_id,
                    via="send",
                )
    if recorded:
        await apply_pending_callbacks(rt, recorded)
    return len(recorded)


async def record_failure(
    rt: Runtime,
    row: OutboundMessage,
    token: str,
    code: int | None,
    detail: str,
    participant: Participant | None,
    own_phone: bool,
) -> bool:
    """Failed for good; a permanent code about the participant's own number blocks them."""
    now = rt.clock.now()
    async with in_transaction():
        changed = await claimed_by(row.id, token).update(
            status=MessageStatus.FAILED,
            error_code=code,
            error_detail=detail,
            lease_until=None,
            updated_at=now,
        )
        if changed:
            await audit_message(now, SYSTEM.label, AuditAction.MESSAGE_FAILED, row, error_code=code)
            blocks = own_phone and participant is not None and failure_of(rt, code).blocks_number
            if blocks and code is not None and participant is not None:
                await block_participant(rt, participant, code, actor=SYSTEM)
    return bool(changed)
