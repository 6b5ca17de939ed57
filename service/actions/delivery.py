"""What happens after the provider answers: delivery receipts, retries, blocked numbers.

The failure policy lives here and the dispatcher uses it too, so a refusal at send
time and a failure reported later by a status callback are judged the same way; so
does the recording of a claimed send's outcome (sent, failed), always guarded by the
claim that owns the row.

Twilio posts a message's statuses in any order and sometimes more than once, so
every callback is ranked (queued/accepted < sending < sent < delivered/undelivered/
failed < read) and applied only when it moves the message forward: a late ``sent``
never overwrites ``delivered``, and a duplicate changes nothing.

A final failure is judged by its error code as the gateway classifies it
(``rt.gateway.explain_error``, :class:`service.ports.SmsFailure`): a transient one
(handset off, an unknown code …) re-plans the message with the dispatcher's backoff
while it still matters; one that blocks the number (opted out, invalid, blocked)
stops all SMS to that participant, visible to coordinators as ``sms_blocked_code`` /
``opted_out``. The codes themselves are the provider's and stay on the rows; nothing
here knows what a number means. A report for an unknown provider id is answered like
a known one (the provider would otherwise retry it) and kept: it may be about a send
not recorded yet, and is applied when it is (``early_callbacks``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from service.actions.actors import SYSTEM, TWILIO, Actor
from service.actions.early_callbacks import apply_early_callbacks, keep_early_callback, sid_lock_key
from service.actions.replanning import replan_participant
from service.db.audit import audit
from service.db.locks import serialize_on
from service.db.models import OutboundMessage, Participant
from service.domain.states import AuditAction, MessageKind, MessageStatus, message_action
from service.ports import DeliveryReport, ProviderReceipt, SmsFailure
from service.runtime import Runtime

__all__ = [
    "MAX_ATTEMPTS",
    "STATUS_RANK",
    "apply_status_callback",
    "backoff",
    "block_participant",
    "blocked_by_opt_out",
    "claimed_by",
    "provider_record",
    "record_failure",
    "record_sent",
    "record_sent_many",
    "retry_moment",
]

log = logging.getLogger("service.delivery")

MAX_ATTEMPTS = 5

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
# A code's text cannot be re-rendered (only its hash exists): never retried from here.
_NOT_RETRIED_KINDS = frozenset({MessageKind.OTP})
# Which rows a provider receipt moves: "delivered" from any state that has left us,
# "undelivered"/"failed" only before a delivery was reported.
_RECEIPT_DELIVERS = frozenset({MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED})
_RECEIPT_FAILS = frozenset({MessageStatus.SENDING, MessageStatus.SENT})


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … failed attempt."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def retry_moment(row: OutboundMessage, now: datetime) -> datetime | None:
    """When to try a transiently failed message again, or None when it is not worth it
    (attempts used up, or the retry would come after the message stopped mattering)."""
    when = now + backoff(row.attempts)
    if row.attempts < MAX_ATTEMPTS and (row.expires_at is None or when < row.expires_at):
        return when
    return None


def _failure(rt: Runtime, code: int | None) -> SmsFailure:
    return rt.gateway.explain_error(code).failure


def blocked_by_opt_out(rt: Runtime, participant: Participant) -> bool:
    """The provider stopped this number because the person opted out with it (STOP
    to the carrier), as opposed to an invalid or blocked number."""
    code = participant.sms_blocked_code
    return code is not None and _failure(rt, code) is SmsFailure.OPTED_OUT


async def audit_message(
    at: datetime, actor: str, action: AuditAction, row: OutboundMessage, **details: object
) -> None:
    """One audit line per message state change: what and why, never to whom or what text."""
    await audit(
        at=at,
        actor=actor,
        action=action,
        entity="outbound_message",
        entity_id=row.id,
        changes={"kind": row.kind, "purpose": row.purpose, "attempts": row.attempts, **details},
    )


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


async def _failed(rt: Runtime, row: OutboundMessage, status: str, code: int | None) -> list[str]:
    """Retry or give up on a message the carrier did not deliver; returns changed fields."""
    now = rt.clock.now()
    row.error_code = code
    retry_at = retry_moment(row, now)
    failure = _failure(rt, code)
    if retry_at is not None and not failure.permanent and row.kind not in _NOT_RETRIED_KINDS:
        # Attempts are kept: the dispatcher counts the next one when it claims the row.
        row.status, row.send_at = MessageStatus.PLANNED, retry_at
        log.info("message %s %s (code %s): retry planned", row.id, status, code)
        return ["error_code", "status", "send_at"]
    row.status = MessageStatus(status)
    await audit_message(now, TWILIO.label, message_action(status), row, error_code=code)
    participant_id = row.participant_id  # type: ignore[attr-defined]  # FK id attr
    if code is not None and failure.blocks_number and participant_id is not None:
        participant = await Participant.get_or_none(id=participant_id)
        if participant is not None and row.to_phone in (None, participant.phone):
            await block_participant(rt, participant, code, actor=TWILIO)
    return ["error_code", "status"]


async def block_participant(
    rt: Runtime, participant: Participant, code: int, *, actor: Actor
) -> bool:
    """Stop all SMS to a participant whose number the provider refuses for good.

    Call inside the caller's transaction. An opt-out at the provider (the person
    replied STOP to the carrier) also sets ``opted_out``. Planned reminders and
    check-ins are cancelled through the re-planner; replies are refused by the
    dispatcher at send time.
    """
    fresh = await Participant.filter(id=participant.id).select_for_update().first()
    if fresh is None:
        return False
    opted_out = fresh.opted_out or _failure(rt, code) is SmsFailure.OPTED_OUT
    if fresh.sms_blocked_code == code and fresh.opted_out == opted_out:
        return False
    before = {"sms_blocked_code": fresh.sms_blocked_code, "opted_out": fresh.opted_out}
    fresh.sms_blocked_code, fresh.opted_out = code, opted_out
    await fresh.save(update_fields=["sms_blocked_code", "opted_out", "updated_at"])
    await audit(
        at=rt.clock.now(),
        actor=actor.label,
        action=AuditAction.PARTICIPANT_SMS_BLOCKED,
        entity="participant",
        entity_id=fresh.study_id,
        changes={k: [v, getattr(fresh, k)] for k, v in before.items()},
        reason=f"the SMS provider refused the number permanently (error {code})",
    )
    await replan_participant(rt, fresh, actor=actor)
    participant.sms_blocked_code, participant.opted_out = code, opted_out
    log.warning("participant %s: SMS stopped after provider error %s", fresh.study_id, code)
    return True


# ---- outcomes of a claimed send (used by the dispatcher) ---------------------------


def claimed_by(row_id: int, token: str) -> QuerySet[OutboundMessage]:
    """The row, only while this claim still owns it (a guard on every write after a claim)."""
    return OutboundMessage.filter(id=row_id, claim_token=token, status=MessageStatus.SENDING)


async def provider_record(rt: Runtime, row: OutboundMessage, to: str) -> ProviderReceipt | None:
    """The provider's record of this row's text to this number since the claim, unless
    that record already belongs to another row (then ours did not go out)."""
    if row.body is None or row.claimed_at is None:
        return None
    found = await rt.gateway.find_sent(to, row.body, since=row.claimed_at)
    if found is None:
        return None
    taken = await OutboundMessage.filter(provider_id=found.provider_id).exclude(id=row.id).exists()
    return None if taken else found


async def apply_pending_callbacks(rt: Runtime, provider_ids: Sequence[str]) -> None:
    """After a send's provider id is committed, apply the status callbacks that arrived
    before it (Twilio can post ``sent``/``delivered`` before our record of the 201
    commits; :mod:`service.actions.early_callbacks` kept them). Never raises into the
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
            blocks = own_phone and participant is not None and _failure(rt, code).blocks_number
            if blocks and code is not None and participant is not None:
                await block_participant(rt, participant, code, actor=SYSTEM)
    return bool(changed)
