"""Outcomes that need a look at the provider: ambiguous send errors and lapsed claims.

Why: a message the provider accepted must never go out a second time, and one it
never got must go out once. So the only answers acted on directly are those that
*prove* the provider did not take the message (a 4xx carrying an error code, a
429); every other failure — any 5xx (a proxy's 504 may follow an accepted message),
a timeout, a reset connection, an unreadable answer — is looked up first, and only a
"not there" lets it be retried. If the lookup itself fails the row stays claimed and
is settled here again once its lease lapses, never re-sent blind.

A claim is a short lease that its dispatcher renews while alive (with the body write,
then by heartbeat), so a dead process's rows are settled within ``LEASE`` plus one
pass, not minutes later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from service.actions.outbox._channels import fall_back_to_sms
from service.actions.outbox._counts import SendOutcome
from service.actions.outbox._recording import provider_record, record_failure, record_sent
from service.actions.outbox._retry import NEVER_RETRIED, attempts_used_up, next_attempt
from service.actions.outbox._rows import claimed_by
from service.adapters.redaction import mask_phone, redact_phones
from service.db.audit import audit
from service.db.faults import database_fault
from service.db.models import OutboundMessage, Participant
from service.domain import not_sent
from service.domain.actors import SYSTEM
from service.domain.states import MessageStatus, message_action
from service.ports import SmsSendError
from service.runtime import Runtime

__all__ = [
    "HEARTBEAT",
    "LEASE",
    "handle_send_error",
    "kept_alive",
    "proves_not_accepted",
    "reconcile_stale_claims",
]

log = logging.getLogger("service.dispatch")

LEASE = timedelta(seconds=6)  # how long a claim lives without renewal
HEARTBEAT = timedelta(milliseconds=1500)  # how often a live dispatcher renews its claims
RECONCILE_CONCURRENCY = 16  # provider lookups at once when a dead process left many rows


@asynccontextmanager
async def kept_alive(rt: Runtime, claims: set[str]) -> AsyncIterator[set[str]]:
    """Renew the leases of ``claims`` (tokens may be added and removed meanwhile) every
    ``HEARTBEAT`` while the block runs: a live sender never loses a claim, however
    long the provider takes, and a dead one stops renewing at once."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            if not claims:
                continue
            try:
                await _renew(list(claims), rt.clock.now() + LEASE)
            except Exception as exc:
                if database_fault(exc) is None:
                    log.exception("heartbeat failed; claims may lapse and be reconciled")
                else:  # the dispatcher's own line says the database is away
                    log.warning("heartbeat failed (%s); claims may lapse", type(exc).__name__)

    task = asyncio.create_task(beat(), name="outbox-heartbeat")
    try:
        yield claims
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# PostgreSQL: rows a batch is writing right now (bodies, results) are skipped, not
# waited for: that write renews or ends the claim anyway, and waiting on it while
# holding other rows' locks is how two batches and a heartbeat deadlock.
_RENEW_SQL_POSTGRES = (
    "UPDATE outbound_message SET lease_until = $2 WHERE id IN (SELECT id FROM"
    " outbound_message WHERE claim_token = ANY($1::text[]) AND status = 'sending'"
    " FOR UPDATE SKIP LOCKED)"
)


async def _renew(tokens: list[str], until: datetime) -> None:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(_RENEW_SQL_POSTGRES, [tokens, until])
    else:  # SQLite serialises writers: no row locks to wait on
        await OutboundMessage.filter(claim_token__in=tokens, status=MessageStatus.SENDING).update(
            lease_until=until
        )


def proves_not_accepted(exc: SmsSendError) -> bool:
    """True only for an answer that shows the provider refused the message itself."""
    status = exc.http_status
    if status == 429:
        return True
    return status is not None and 400 <= status < 500 and exc.code is not None


async def _retry_or_fail(
    rt: Runtime,
    row: OutboundMessage,
    token: str,
    participant: Participant | None,
    own_phone: bool,
    exc: SmsSendError,
    detail: str,
) -> SendOutcome | None:
    now = rt.clock.now()
    retry_at = next_attempt(row, now)
    if retry_at is not None:
        if await claimed_by(row.id, token).update(
            status=MessageStatus.PLANNED,
            send_at=retry_at,
            claim_token=None,
            lease_until=None,
            error_code=exc.code,
            error_detail=detail,
            updated_at=now,
        ):
            return SendOutcome.RETRIED
        return None
    if await record_failure(rt, row, token, exc.code, detail, participant, own_phone):
        return SendOutcome.FAILED
    return None


async def handle_send_error(
    rt: Runtime,
    row: OutboundMessage,
    participant: Participant | None,
    own_phone: bool,
    to: str,
    exc: SmsSendError,
) -> SendOutcome | None:
    """Settle one failed send; returns how (None: left as it was, e.g. for reconciliation)."""
    token = row.claim_token or ""
    detail = redact_phones(str(exc))[:255]
    proven = proves_not_accepted(exc)
    log.warning(
        "dispatch: message %s to %s failed (http %s, code %s, %s)",
        row.id,
        mask_phone(to),
        exc.http_status,
        exc.code,
        ("permanent" if exc.permanent else "refused") if proven else "ambiguous",
    )
    if proven and await fall_back_to_sms(rt, row, exc, detail):
        return SendOutcome.RETRIED
    if proven and exc.permanent:
        if await record_failure(rt, row, token, exc.code, detail, participant, own_phone):
            return SendOutcome.FAILED
        return None
    if not proven and row.kind not in NEVER_RETRIED:
        try:
            found = await provider_record(rt, row, to)
        except SmsSendError:
            log.warning("dispatch: message %s left for reconciliation (lookup failed)", row.id)
            return None
        if found is not None:
            sent_at = found.sent_at or rt.clock.now()
            if await record_sent(rt, row, token, found, sent_at=sent_at, how="lookup"):
                return SendOutcome.SENT
            return None
    if not proven and row.kind in NEVER_RETRIED:
        if await record_failure(rt, row, token, exc.code, detail, participant, own_phone):
            return SendOutcome.FAILED  # may or may not have arrived; the person can ask again
        return None
    return await _retry_or_fail(rt, row, token, participant, own_phone, exc, detail)


def _lapsed(now: datetime, older_than: timedelta) -> Q:
    return Q(lease_until__lt=now) | Q(lease_until__isnull=True, claimed_at__lt=now - older_than)


async def reconcile_stale_claims(rt: Runtime, older_than: timedelta = LEASE) -> int:
    """Settle rows left in ``sending`` by a dispatcher that stopped renewing its claim:
    sent if the provider has the message (recorded with its id, never re-sent), else
    back to planned (or expired/failed). Returns how many rows were settled."""
    now = rt.clock.now()
    stale = (
        await OutboundMessage.filter(status=MessageStatus.SENDING)
        .filter(_lapsed(now, older_than))
        .order_by("-priority", "claimed_at")
    )
    gate = asyncio.Semaphore(RECONCILE_CONCURRENCY)

    async def settle(row: OutboundMessage) -> bool:
        async with gate:
            token = uuid.uuid4().hex
            # Take the row over (claimed_at kept: it bounds the provider lookup).
            took = await OutboundMessage.filter(
                id=row.id, status=MessageStatus.SENDING, claim_token=row.claim_token
            ).update(claim_token=token, lease_until=rt.clock.now() + LEASE)
            return bool(took) and await _reconcile_one(rt, row, token)

    settled = sum(await asyncio.gather(*(settle(row) for row in stale)))
    if settled:
        log.info("reconciled %d stale claim(s)", settled)
    return settled


async def _reconcile_one(rt: Runtime, row: OutboundMessage, token: str) -> bool:
    pid: int | None = row.participant_id
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
        status = MessageStatus.EXPIRED
    elif attempts_used_up(row):
        status = MessageStatus.FAILED
    else:
        status = MessageStatus.PLANNED
    async with in_transaction():
        changed = await claimed_by(row.id, token).update(
            status=status,
            claim_token=None,
            lease_until=None,
            skip_reason=not_sent.EXPIRED if status == "expired" else None,
            updated_at=now,
        )
        if changed and status != MessageStatus.PLANNED:
            await audit(
                at=now,
                actor=SYSTEM.label,
                action=message_action(status),
                entity="outbound_message",
                entity_id=row.id,
                changes={"kind": row.kind, "purpose": row.purpose, "attempts": row.attempts},
                reason="a dispatcher stopped mid-send and the provider never got the message",
            )
    return bool(changed)
