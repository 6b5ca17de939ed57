"""Sending what is due: take send tokens, claim a batch, render, send concurrently,
record in batches — each message exactly once.

Why it is shaped like this:

* **The database decides what is due.** Rows move planned → sending (claimed) → sent.
  A claim is one guarded UPDATE (PostgreSQL adds ``FOR UPDATE SKIP LOCKED``), so any
  number of dispatchers, in any number of processes, never claim the same row twice
  and never wait on each other. Alerts, then codes, then replies are claimed before
  reminders and check-ins (``priority``), so a safety alert never queues behind a wave.
* **The cap is paid before the claim.** Send tokens (``_send_cap``, shared by every
  process) are taken for a batch before that many rows are claimed, so a claimed row
  never waits for the cap. A claim is a short lease (``LEASE``) that the owning
  dispatcher renews with the body write and then by heartbeat
  (:class:`service.jobs.dispatcher.Dispatcher`); rows of a process that died are
  reconciled as soon as their lease lapses (``_reconcile``).
* **Nothing is re-sent blind.** The rendered body is written to the row *before* the
  gateway is called. Only an answer that proves the provider did not take the message
  (a 4xx with an error code, a 429) is retried directly; anything ambiguous (any 5xx,
  a timeout, a reset, an unreadable answer) is looked up at the provider first.
* **Who may be written to, and when, is re-checked at send time**, because a pause,
  opt-out or withdrawal can commit between planning and sending, and an overdue
  reminder after downtime must still not arrive inside quiet hours (it waits for the
  morning, or expires if by then it no longer matters). Reminders and check-ins need
  :func:`service.domain.not_sent.may_receive_sms`; replies, alerts and codes go
  out regardless of a pause but never to an opted-out or blocked participant's own
  phone (except the one confirmation of an opt-out). Staff numbers always get alerts.
* **Round trips are per batch, not per message**: one claim, one read of the rows and
  their participants and sites, one transaction for the bodies, one for the results.
* Logs carry counts, kinds, study ids and masked numbers; never a body or a phone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from service.actions.outbox._counts import DispatchCounts
from service.actions.outbox._reconcile import (
    LEASE,
    handle_send_error,
    kept_alive,
    proves_not_accepted,
    reconcile_stale_claims,
)
from service.actions.outbox._recording import record_sent_many
from service.actions.outbox._send_cap import SendCap
from service.actions.outbox._send_checks import Ready, prepare
from service.db.audit import audit
from service.db.models import OutboundMessage, Participant, Site
from service.domain import not_sent
from service.domain.actors import SYSTEM
from service.domain.states import AuditAction, MessageStatus
from service.domain.whatsapp import WHATSAPP
from service.ports import ProviderReceipt, SmsSendError, WhatsAppContent
from service.runtime import SMS_PROVIDER, Runtime

__all__ = [
    "CLAIM_SQL_POSTGRES",
    "CLAIM_SQL_SQLITE",
    "dispatch_due",
    "next_due_at",
    "next_lease_lapse",
    "oldest_due_unsent",
    "status_callback_url",
]

log = logging.getLogger("service.dispatch")

BATCH = 100  # rows claimed at once (fewer when the send cap grants fewer tokens)
SEND_CONCURRENCY = 32  # requests in flight; one recipient's messages stay in order
MAX_BATCHES = 50  # one pass drains at most this many batches; the next pass continues
PIPELINE = 2  # batches in flight: one sends while the next is claimed and rendered

_DUE = (
    "SELECT id FROM outbound_message WHERE status = 'planned' AND send_at <= {n}"
    " AND (expires_at IS NULL OR expires_at > {n})"
    " ORDER BY priority DESC, send_at, id LIMIT {limit}"
)
_SET = (
    "SET status = 'sending', claim_token = {t}, claimed_at = {n}, lease_until = {lease},"
    " attempts = attempts + 1, version = version + 1, updated_at = {n}"
)
# PostgreSQL chooses the due rows once, in a materialised CTE. Written as ``id IN
# (subquery)``, on a small or freshly analysed table the planner picks a nested-loop
# semi-join that runs the LIMITed subquery again for each row it updates, and one claim
# took every due row: more than the send cap granted.
CLAIM_SQL_POSTGRES = (
    f"WITH due AS MATERIALIZED ({_DUE} FOR UPDATE SKIP LOCKED) UPDATE outbound_message {_SET}"
    " FROM due WHERE outbound_message.id = due.id RETURNING outbound_message.id"
).format(t="$1", n="$2", limit="$3", lease="$4")
# SQLite serialises writers, so the guarded UPDATE alone is enough; ?N are numbered.
CLAIM_SQL_SQLITE = f"UPDATE outbound_message {_SET} WHERE id IN ({_DUE}) RETURNING id".format(
    t="?1", n="?2", limit="?3", lease="?4"
)


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
    pid: int | None = row.participant_id
    return pid


def _now_valid(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def default_cap(rt: Runtime) -> SendCap:
    return SendCap(rt.settings.sms_rate_per_second)


# ---- the dispatcher pass ----------------------------------------------------------------


async def dispatch_due(
    rt: Runtime,
    *,
    limit: int = BATCH,
    cap: SendCap | None = None,
    claims: set[str] | None = None,
) -> DispatchCounts:
    """Reconcile lapsed claims, expire what no longer matters, then take tokens, claim
    and send due rows in batches of up to ``limit`` until none is left, the cap says
    wait (``cap_wait_s``), or ``MAX_BATCHES`` ran. ``claims`` is the caller's set of
    claim tokens in flight, renewed by a heartbeat while the pass runs."""
    cap = cap or default_cap(rt)
    claims = set() if claims is None else claims
    counts = DispatchCounts()
    counts.reconciled = await reconcile_stale_claims(rt)
    counts.expired = await _expire_overdue(rt)
    async with kept_alive(rt, claims):
        await _pass(rt, limit, cap, claims, counts)
    if counts.any:
        log.info("dispatch: %s", counts.summary())
    return counts


async def _pass(
    rt: Runtime, limit: int, cap: SendCap, claims: set[str], counts: DispatchCounts
) -> None:
    gate = asyncio.Semaphore(SEND_CONCURRENCY)  # shared: the next batch fills free slots
    inflight: set[asyncio.Task[None]] = set()

    async def run(token: str, rows: list[OutboundMessage]) -> None:
        try:
            await _send_batch(rt, rows, counts, cap, gate)
        finally:
            claims.discard(token)

    try:
        for _ in range(MAX_BATCHES):
            grant = await cap.take(limit, rt.clock.now())
            if grant.tokens == 0:
                counts.cap_wait_s = max(grant.wait_s, 0.001)
                break
            token = _token()
            claims.add(token)
            try:
                rows = await _claim_batch(rt, token, grant.tokens)
            except BaseException:
                claims.discard(token)
                raise
            if len(rows) < grant.tokens:
                await cap.adjust(grant.tokens - len(rows), rt.clock.now())
            counts.claimed += len(rows)
            inflight.add(asyncio.create_task(run(token, rows)))
            if len(inflight) >= PIPELINE:  # claim the next batch while this one sends
                done, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a batch that failed as a whole fails the pass
            if len(rows) < grant.tokens:
                break
    finally:
        if inflight:
            await asyncio.gather(*inflight)


async def next_due_at(rt: Runtime) -> datetime | None:
    """When the earliest planned row is due (for waking the dispatcher in time)."""
    row = (
        await OutboundMessage.filter(status=MessageStatus.PLANNED)
        .filter(_now_valid(rt.clock.now()))
        .order_by("send_at")
        .first()
        .only("id", "send_at")
    )
    return None if row is None else row.send_at


async def oldest_due_unsent(due_before: datetime) -> datetime | None:
    """When the oldest still-planned message due before ``due_before`` was due."""
    oldest = (
        await OutboundMessage.filter(status=MessageStatus.PLANNED, send_at__lte=due_before)
        .order_by("send_at")
        .first()
        .values_list("send_at", flat=True)
    )
    return oldest if isinstance(oldest, datetime) else None


async def next_lease_lapse() -> datetime | None:
    """When the earliest live claim's lease lapses (its rows are reconciled then)."""
    row = (
        await OutboundMessage.filter(status=MessageStatus.SENDING, lease_until__isnull=False)
        .order_by("lease_until")
        .first()
        .only("id", "lease_until")
    )
    return None if row is None else row.lease_until


async def _expire_overdue(rt: Runtime) -> int:
    now = rt.clock.now()
    ids = await OutboundMessage.filter(
        status=MessageStatus.PLANNED, expires_at__lte=now
    ).values_list("id", flat=True)
    if not ids:
        return 0
    async with in_transaction():
        count = await OutboundMessage.filter(
            id__in=ids, status=MessageStatus.PLANNED, expires_at__lte=now
        ).update(
            status=MessageStatus.EXPIRED,
            skip_reason=not_sent.EXPIRED,
            version=F("version") + 1,
            updated_at=now,
        )
        await audit(
            at=now,
            actor=SYSTEM.label,
            action=AuditAction.MESSAGES_EXPIRE,
            entity="outbound_message",
            entity_id=f"{count} rows",
            changes={"ids": sorted(ids)},
            reason="their moment passed before they could be sent",
        )
    return count


async def _claim_batch(rt: Runtime, token: str, limit: int) -> list[OutboundMessage]:
    now = rt.clock.now()
    conn = connections.get("default")
    sql = CLAIM_SQL_SQLITE if conn.capabilities.dialect == "sqlite" else CLAIM_SQL_POSTGRES
    await conn.execute_query(sql, [token, now, limit, now + LEASE])
    return await OutboundMessage.filter(claim_token=token, status=MessageStatus.SENDING).order_by(
        "-priority", "send_at", "id"
    )


async def _send_batch(
    rt: Runtime,
    rows: Sequence[OutboundMessage],
    counts: DispatchCounts,
    cap: SendCap,
    gate: asyncio.Semaphore | None = None,
) -> None:
    if not rows:
        return
    ids = {pid for pid in map(_pid, rows) if pid is not None}
    people = {p.id: p for p in await Participant.filter(id__in=ids)} if ids else {}
    sites = {s.code: s for s in await Site.all()}
    ready = await prepare(rt, rows, people, sites, counts)
    extra = sum(max((item.row.segments or 1) - 1, 0) for item in ready)
    if extra:
        await cap.adjust(-extra, rt.clock.now())  # the cap counts segments, as Twilio does
    outcomes = await _send_all(rt, ready, gate or asyncio.Semaphore(SEND_CONCURRENCY))
    sent = [(item, result) for item, result in outcomes if isinstance(result, ProviderReceipt)]
    if sent:
        recorded = await record_sent_many(
            rt,
            [(item.row, item.row.claim_token or "", receipt) for item, receipt in sent],
            sent_at=rt.clock.now(),
        )
        counts.sent += recorded  # after the await: batches in flight share ``counts``
    _note_provider(rt, [result for _, result in outcomes])
    for item, result in outcomes:
        if isinstance(result, SmsSendError):
            outcome = await handle_send_error(
                rt, item.row, item.participant, item.own_phone, item.to, result
            )
            if outcome is not None:
                counts.settled(outcome)
        elif isinstance(result, BaseException):
            # The row stays 'sending' and is reconciled once its lease lapses: never re-sent blind.
            log.error("dispatch: a send failed unexpectedly (%s)", type(result).__name__)


def _note_provider(rt: Runtime, results: Sequence[ProviderReceipt | BaseException]) -> None:
    """Tell readiness how the provider answered: a refusal with a code is an answer; a
    5xx, a timeout or a broken connection is the provider being unwell."""
    unwell = [
        r
        for r in results
        if isinstance(r, BaseException)
        and not (isinstance(r, SmsSendError) and proves_not_accepted(r))
    ]
    if unwell:
        last = unwell[-1]
        status = last.http_status if isinstance(last, SmsSendError) else None
        rt.neighbours.failed(SMS_PROVIDER, f"send failed (http {status})", rt.clock.now())
    elif results:
        rt.neighbours.answered(SMS_PROVIDER)


async def _send_one(rt: Runtime, item: Ready, callback: str, now: datetime) -> ProviderReceipt:
    row = item.row
    if row.channel == WHATSAPP:
        content = WhatsAppContent(row.body or "", row.content_sid, row.content_variables)
        return await rt.gateway.send_whatsapp(item.to, content, status_callback=callback)
    return await rt.gateway.send(
        item.to,
        row.body or "",
        status_callback=callback,
        validity_period_s=_validity_s(row.expires_at, now),
    )


async def _send_all(
    rt: Runtime, ready: list[Ready], gate: asyncio.Semaphore
) -> list[tuple[Ready, ProviderReceipt | BaseException]]:
    """Send concurrently, up to ``SEND_CONCURRENCY`` at once, one recipient in order."""
    groups: dict[str, list[Ready]] = {}
    for item in ready:
        groups.setdefault(item.to, []).append(item)
    results: list[tuple[Ready, ProviderReceipt | BaseException]] = []
    callback = status_callback_url(rt)

    async def serve(group: list[Ready]) -> None:
        for item in group:
            async with gate:
                now = rt.clock.now()
                try:
                    receipt: ProviderReceipt | BaseException = await _send_one(
                        rt, item, callback, now
                    )
                except Exception as exc:  # classified by the caller, row by row
                    receipt = exc
            results.append((item, receipt))

    await asyncio.gather(*(serve(g) for g in groups.values()))
    return results
