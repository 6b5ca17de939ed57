"""Creating outbound rows: one per (recipient, purpose, occurrence), due now, ranked,
and waking the dispatchers once the caller's transaction has committed.

* ``enqueue_now`` creates the row (or returns the existing one) inside the caller's
  transaction; on PostgreSQL it also NOTIFYs every dispatcher, delivered at commit.
* ``wake`` is called once that transaction has committed, so this process's
  dispatcher sends at once rather than at its next scheduled look.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tortoise import connections

from service.db.insert_once import insert_unless_exists
from service.db.models import OutboundMessage, Participant
from service.domain.identities import message_dedupe_key
from service.domain.states import MessageKind
from service.runtime import Runtime

__all__ = ["NOTIFY_CHANNEL", "PRIORITY", "enqueue_now", "notify_due", "wake"]

log = logging.getLogger("service.dispatch")

# Claimed first: a safety alert, then a sign-in code someone is waiting for, then a reply.
PRIORITY: dict[str, int] = {"alert": 100, "otp": 90, "reply": 50}
NOTIFY_CHANNEL = "outbox_due"  # PostgreSQL LISTEN/NOTIFY channel the dispatchers wait on


def wake(rt: Runtime) -> None:
    """Tell the dispatchers a row is due now. Never blocks, never raises."""
    try:
        rt.wake_dispatcher()
    except Exception:  # a wake is an optimisation: the dispatcher looks anyway
        log.exception("waking the dispatcher failed")


async def notify_due(rt: Runtime) -> None:
    """Tell every dispatcher a row may be due now.

    On PostgreSQL a ``NOTIFY`` on the current connection: inside a transaction the
    database delivers it at commit (never for a rollback), to every process. In this
    process the dispatcher is also woken; it looks again shortly after, in case the
    caller's transaction had not committed yet.
    """
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query(f"NOTIFY {NOTIFY_CHANNEL}")
    rt.wake_dispatcher()


async def enqueue_now(
    rt: Runtime,
    *,
    participant: Participant | None,
    to_phone: str | None = None,
    kind: MessageKind,
    purpose: str,
    occurrence: str,
    message_key: str,
    params: dict[str, Any],
    language: str,
    expires_in: timedelta,
) -> OutboundMessage:
    """A message due now; the same (recipient, purpose, occurrence) always returns the
    same row unchanged, which is what makes a retried webhook or action idempotent.

    On PostgreSQL it also ``NOTIFY``s the dispatchers, which the database delivers when
    the caller's transaction commits (never before, never for a rollback)."""
    key = message_dedupe_key(participant.id if participant else None, purpose, occurrence)
    now = rt.clock.now()
    row = OutboundMessage(
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
        priority=PRIORITY.get(kind, 0),
        created_at=now,
        updated_at=now,
    )
    # One statement in the common case (no look-up, no savepoint); a retried webhook or
    # action meets the unique key and gets the row it made the first time.
    if not await insert_unless_exists(row, "dedupe_key"):
        return await OutboundMessage.get(dedupe_key=key)
    await notify_due(rt)
    return row
