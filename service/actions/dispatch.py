"""Sending what is due: claim, render, send, record — each message exactly once.

Why it is shaped like this:

* **The database decides what is due.** Rows move planned → sending (claimed) → sent.
  A claim is one guarded UPDATE (PostgreSQL adds ``FOR UPDATE SKIP LOCKED``), so any
  number of dispatchers, in any number of processes, never claim the same row twice
  and never wait on each other.
* **Nothing is re-sent blind.** The rendered body is written to the row *before* the
  gateway is called. A process that dies after claiming leaves the row in
  ``sending``; once its lease has passed, :func:`reconcile_stale_claims` asks the
  provider whether that very text reached that number since the claim, and only a
  "no" puts it back in the queue. An ambiguous failure (no HTTP status, no code: the
  request may have reached Twilio) gets the same lookup before any retry.
* **Who may be written to, and when, is re-checked at send time**, because a pause,
  opt-out or withdrawal can commit between planning and sending, and an overdue
  reminder after downtime must still not arrive inside quiet hours (it waits for the
  morning, or expires if by then it no longer matters). Reminders and check-ins need
  :func:`service.actions.replanning.may_receive_sms`; replies, alerts and codes go
  out regardless of a pause but never to an opted-out or blocked participant's own
  phone (except the one confirmation of an opt-out). Staff numbers always get alerts.
* **Failures are classified once**: a permanent provider code about the *number*
  blocks the participant (visible to coordinators as ``sms_blocked_code`` /
  ``opted_out``) and cancels their planned rows; a transient one is retried with
  exponential backoff while the message still matters, at most ``MAX_ATTEMPTS``.
* Logs carry counts, kinds, study ids and masked numbers; never a body or a phone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from service.actions.actors import SYSTEM
from service.actions.delivery import (
    MAX_ATTEMPTS,
    claimed_by,
    provider_record,
    record_failure,
    record_sent,
    retry_moment,
)
from service.actions.rendering import render_outbound
from service.actions.replanning import may_receive_sms
from service.adapters.redaction import mask_phone, redact_phones
from service.db.audit import audit
from service.db.models import OutboundMessage, Participant
from service.domain.reminders import next_allowed
from service.ports import SmsSendError
from service.runtime import Runtime

__all__ = [
    "CLAIM_SQL_POSTGRES",
    "CLAIM_SQL_SQLITE",
    "LEASE",
    "DispatchCounts",
    "dispatch_due",
    "enqueue_now",
    "next_due_at",
    "reconcile_stale_claims",
    "send_now",
    "status_callback_url",
]

log = logging.getLogger("service.dispatch")

LEASE = timedelta(minutes=5)
SEND_CONCURRENCY = 8  # recipients served in parallel; one recipient's messages stay in order
MAX_BATCHES = 50  # one run drains at most this many batches; the next run continues
PARTICIPANT_KINDS = frozenset({"reminder", "checkin"})
OPT_OUT_CONFIRMATION = "optout.confirm"  # the one message an opted-out person still gets

CLAIM_SQL_POSTGRES = (
    "UPDATE outbound_message SET status = 'sending', claim_token = $1, claimed_at = $2,"
    " attempts = attempts + 1, updated_at = $2"
    " WHERE id IN (SELECT id FROM outbound_message WHERE status = 'planned'"
    " AND send_at <= $2 AND (expires_at IS NULL OR expires_at > $2)"
    " ORDER BY send_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id"
)
# SQLite serialises writers, so the guarded UPDATE alone is enough; ?N are numbered.
CLAIM_SQL_SQLITE = (
    "UPDATE outbound_message SET status = 'sending', claim_token = ?1, claimed_at = ?2,"
    " attempts = attempts + 1, updated_at = ?2"
    " WHERE id IN (SELECT id FROM outbound_message WHERE status = 'planned'"
    " AND send_at <= ?2 AND (expires_at IS NULL OR expires_at > ?2)"
    " ORDER BY send_at, id LIMIT ?3) RETURNING id"
)


@dataclass(slots=True)
class DispatchCounts:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    expired: int = 0
    skipped: int = 0
    reconciled: int = 0
    deferred: int = 0  # claimed inside the participant's quiet hours: planned again for later

    @property
    def any(self) -> bool:
        return any(asdict(self).values())

    def summary(self) -> str:
        return " ".join(f"{name}={value}" for name, value in asdict(self).items())


def status_callback_url(rt: Runtime) -> str:
    return f"{rt.settings.public_base_url}/webhooks/twilio/status"


def _validity_s(expires_at: datetime | None, now: datetime) -> int | None:
    """Twilio drops a message still queued after this long: no reminder after its moment."""
    if expires_at is None:
        return None
    return int(min(max((expires_at - now).total_seconds(), 60), 36000))


def _token() -> str:
    return uuid.uuid4().hex


def _pid(row: OutboundMessage) -> int | None:
    pid: int | None = row.participant_id  # type: ignore[attr-defined]  # Tortoise FK id attribute
    return pid


def _now_valid(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


# ---- enqueueing -------------------------------------------------------------------------


async def enqueue_now(
    rt: Runtime,
    *,
    participant: Participant | None,
    to_phone: str | None = None,
    kind: str,
    purpose: str,
    occurrence: str,
    message_key: str,
    params: dict[str, Any],
    language: str,
    expires_in: timedelta,
) -> OutboundMessage:
    """A message due now; the same (recipient, purpose, occurrence) always returns the
    same row unchanged, which is what makes a retried webhook or action idempotent."""
    key = f"{participant.id if participant else 'staff'}:{purpose}:{occurrence}"
    existing = await OutboundMessage.get_or_none(dedupe_key=key)
    if existing is not None:
        return existing
    now = rt.clock.now()
    try:
        async with in_transaction():  # a savepoint when nested: a lost race must not abort it
            return await OutboundMessage.create(
                participant=participant,
                to_phone=to_phone,
                kind=kind,
                purpose=purpose,
                occurrence=occurrence,
                dedupe_key=key,
                message_key=message_key,
                params=params,
                language=language,
                send_at=now,
                expires_at=now + expires_in,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return await OutboundMessage.get(dedupe_key=key)


async def send_now(rt: Runtime, row: OutboundMessage) -> OutboundMessage:
    """Claim and send this one row at once (replies, alerts). Call it outside a
    transaction. A row already sent, claimed elsewhere or waiting for a retry is
    returned as it is: the dispatcher owns it."""
    now, token = rt.clock.now(), _token()
    claimed = (
        await OutboundMessage.filter(id=row.id, status="planned", send_at__lte=now)
        .filter(_now_valid(now))
        .update(
            status="sending",
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if claimed:
        await _send_batch(rt, [await OutboundMessage.get(id=row.id)], DispatchCounts())
    return await OutboundMessage.get(id=row.id)


# ---- the dispatcher ---------------------------------------------------------------------


async def dispatch_due(rt: Runtime, *, limit: int = 100) -> DispatchCounts:
    """Reconcile stale claims, expire what no longer matters, then claim and send due
    rows in batches of ``limit`` until none is left (or ``MAX_BATCHES`` ran)."""
    counts = DispatchCounts()
    counts.reconciled = await reconcile_stale_claims(rt)
    counts.expired = await _expire_overdue(rt)
    for _ in range(MAX_BATCHES):
        rows = await _claim_batch(rt, limit)
        counts.claimed += len(rows)
        await _send_batch(rt, rows, counts)
        if len(rows) < limit:
            break
    if counts.any:
        log.info("dispatch: %s", counts.summary())
    return counts


async def next_due_at(rt: Runtime) -> datetime | None:
    """When the earliest planned row is due (for waking the scheduler early)."""
    row = (
        await OutboundMessage.filter(status="planned")
        .filter(_now_valid(rt.clock.now()))
        .order_by("send_at")
        .first()
        .only("id", "send_at")
    )
    return None if row is None else row.send_at


async def _expire_overdue(rt: Runtime) -> int:
    now = rt.clock.now()
    ids = await OutboundMessage.filter(status="planned", expires_at__lte=now).values_list(
        "id", flat=True
    )
    if not ids:
        return 0
    async with in_transaction():
        count = await OutboundMessage.filter(
            id__in=ids, status="planned", expires_at__lte=now
        ).update(status="expired", updated_at=now)
        await audit(
            at=now,
            actor=SYSTEM.label,
            action="messages.expire",
            entity="outbound_message",
            entity_id=f"{count} rows",
            changes={"ids": sorted(ids)},
            reason="their moment passed before they could be sent",
        )
    return count


async def _claim_batch(rt: Runtime, limit: int) -> list[OutboundMessage]:
    token, now = _token(), rt.clock.now()
    conn = connections.get("default")
    sql = CLAIM_SQL_SQLITE if conn.capabilities.dialect == "sqlite" else CLAIM_SQL_POSTGRES
    await conn.execute_query(sql, [token, now, limit])
    return await OutboundMessage.filter(claim_token=token, status="sending").order_by(
        "send_at", "id"
    )


async def _send_batch(rt: Runtime, rows: Sequence[OutboundMessage], counts: DispatchCounts) -> None:
    if not rows:
        return
    ids = {pid for pid in map(_pid, rows) if pid is not None}
    people = {p.id: p for p in await Participant.filter(id__in=ids)} if ids else {}
    groups: dict[str, list[OutboundMessage]] = {}
    for row in rows:
        groups.setdefault(row.to_phone or f"p{_pid(row)}", []).append(row)
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def serve(group: list[OutboundMessage]) -> None:
        async with gate:
            for row in group:
                await _process(rt, row, people.get(_pid(row) or 0), counts)

    results = await asyncio.gather(*(serve(g) for g in groups.values()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            # The row stays 'sending' and is reconciled after its lease: never re-sent blind.
            log.error("dispatch: a send failed unexpectedly (%s)", type(result).__name__)


def _refusal(row: OutboundMessage, participant: Participant | None, own_phone: bool) -> str | None:
    if row.kind in PARTICIPANT_KINDS:
        if participant is None or not may_receive_sms(participant):
            return "participant may not receive planned SMS now"
        return None
    if own_phone and participant is not None:
        if participant.sms_blocked_code is not None:
            return f"participant's number is blocked ({participant.sms_blocked_code})"
        if participant.opted_out and row.message_key != OPT_OUT_CONFIRMATION:
            return "participant opted out"
    return None


def _quiet_deferral(rt: Runtime, participant: Participant, now: datetime) -> datetime | None:
    """The end of the participant's quiet hours if ``now`` falls inside them, else None.

    Planning keeps send times out of quiet hours; this catches what arrives there
    anyway (an overdue reminder after downtime, a retry's backoff).
    """
    tz = ZoneInfo(participant.timezone)
    later = next_allowed(now, tz, rt.protocol.quiet_hours)
    return later if later > now else None


async def _defer(
    row: OutboundMessage, token: str, later: datetime, now: datetime, counts: DispatchCounts
) -> None:
    """Back to planned at ``later`` (the claim was not an attempt), or expired if by
    then the message no longer matters."""
    if row.expires_at is not None and later >= row.expires_at:
        if await claimed_by(row.id, token).update(status="expired", updated_at=now):
            counts.expired += 1
        return
    if await claimed_by(row.id, token).update(
        status="planned", send_at=later, attempts=F("attempts") - 1, updated_at=now
    ):
        counts.deferred += 1


async def _process(
    rt: Runtime, row: OutboundMessage, participant: Participant | None, counts: DispatchCounts
) -> None:
    token = row.claim_token or ""
    now = rt.clock.now()
    own_phone = participant is not None and row.to_phone in (None, participant.phone)
    to = row.to_phone or (participant.phone if participant else None)
    reason = "no recipient" if to is None else _refusal(row, participant, own_phone)
    if reason is not None or to is None:
        if await claimed_by(row.id, token).update(
            status="cancelled", error_detail=reason, updated_at=now
        ):
            counts.skipped += 1
        return
    if row.kind in PARTICIPANT_KINDS and participant is not None:
        later = _quiet_deferral(rt, participant, now)
        if later is not None:
            await _defer(row, token, later, now, counts)
            return
    try:
        rendered = await render_outbound(rt, row, participant)
    except Exception as exc:  # a broken template or parameter fails this row, not the batch
        detail = f"render: {type(exc).__name__}: {exc}"[:255]
        if await record_failure(rt, row, token, None, detail, participant, own_phone):
            counts.failed += 1
        return
    body, cost = rendered.text, rendered.encoding
    if not await claimed_by(row.id, token).update(
        body=body, encoding=cost.encoding, segments=cost.segments, updated_at=now
    ):
        return  # the claim was taken over by reconciliation
    row.body = body
    try:
        receipt = await rt.gateway.send(
            to,
            body,
            status_callback=status_callback_url(rt),
            validity_period_s=_validity_s(row.expires_at, now),
        )
    except SmsSendError as exc:
        await _send_failed(rt, row, token, participant, own_phone, to, exc, counts)
        return
    if await record_sent(rt, row, token, receipt, sent_at=now, how="send"):
        counts.sent += 1


async def _send_failed(
    rt: Runtime,
    row: OutboundMessage,
    token: str,
    participant: Participant | None,
    own_phone: bool,
    to: str,
    exc: SmsSendError,
    counts: DispatchCounts,
) -> None:
    detail = redact_phones(str(exc))[:255]
    log.warning(
        "dispatch: message %s to %s refused (http %s, code %s, %s)",
        row.id,
        mask_phone(to),
        exc.http_status,
        exc.code,
        "permanent" if exc.permanent else "transient",
    )
    if exc.permanent:
        if await record_failure(rt, row, token, exc.code, detail, participant, own_phone):
            counts.failed += 1
        return
    if exc.http_status is None and exc.code is None:
        # The request may have reached the provider: look before trying again.
        try:
            found = await provider_record(rt, row, to)
        except SmsSendError:
            log.warning("dispatch: message %s left for reconciliation (lookup failed)", row.id)
            return
        if found is not None:
            sent_at = found.sent_at or rt.clock.now()
            if await record_sent(rt, row, token, found, sent_at=sent_at, how="lookup"):
                counts.sent += 1
            return
    now = rt.clock.now()
    retry_at = retry_moment(row, now)
    if retry_at is not None:
        if await claimed_by(row.id, token).update(
            status="planned",
            send_at=retry_at,
            error_code=exc.code,
            error_detail=detail,
            updated_at=now,
        ):
            counts.retried += 1
        return
    if await record_failure(rt, row, token, exc.code, detail, participant, own_phone):
        counts.failed += 1


# ---- crash recovery ---------------------------------------------------------------------


async def reconcile_stale_claims(rt: Runtime, older_than: timedelta = LEASE) -> int:
    """Settle rows left in ``sending`` by a dispatcher that died: sent if the provider
    has the message (recorded with its id, never re-sent), else back to planned (or
    expired/failed). Returns how many rows were settled."""
    now = rt.clock.now()
    stale = await OutboundMessage.filter(
        status="sending", claimed_at__lt=now - older_than
    ).order_by("claimed_at")
    settled = 0
    for row in stale:
        token = _token()
        # Take the row over (claimed_at kept: it bounds the provider lookup).
        took = await OutboundMessage.filter(
            id=row.id, status="sending", claim_token=row.claim_token
        ).update(claim_token=token)
        if took and await _reconcile_one(rt, row, token):
            settled += 1
    if settled:
        log.info("reconciled %d stale claim(s)", settled)
    return settled


async def _reconcile_one(rt: Runtime, row: OutboundMessage, token: str) -> bool:
    pid = _pid(row)
    participant = await Participant.get_or_none(id=pid) if pid is not None else None
    to = row.to_phone or (participant.phone if participant else None)
    try:
        found = await provider_record(rt, row, to) if to else None
    except SmsSendError:
        log.warning("reconcile: message %s stays claimed (provider lookup failed)", row.id)
        return False
    if found is not None:
        sent_at = found.sent_at or row.claimed_at or rt.clock.now()
        return await record_sent(rt, row, token, found, sent_at=sent_at, how="reconcile")
    now = rt.clock.now()
    if row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    elif row.attempts >= MAX_ATTEMPTS:
        status = "failed"
    else:
        status = "planned"
    async with in_transaction():
        changed = await claimed_by(row.id, token).update(status=status, updated_at=now)
        if changed and status != "planned":
            await audit(
                at=now,
                actor=SYSTEM.label,
                action=f"message.{status}",
                entity="outbound_message",
                entity_id=row.id,
                changes={"kind": row.kind, "purpose": row.purpose, "attempts": row.attempts},
                reason="a dispatcher stopped mid-send and the provider never got the message",
            )
    return bool(changed)
