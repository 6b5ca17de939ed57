"""Delivery receipts that arrive before we have recorded the send they are about.

Twilio may post a status callback for a message while our own ``record_sent`` has
not committed yet (the provider is fast, our commit is behind a slow disk, or the
send's response was lost and the row is only matched later by a lookup). Dropping
such a callback loses a ``delivered`` or, worse, a ``failed``/``undelivered`` that
should have been retried or have blocked a number. So:

* :func:`keep_early_callback` stores it (``early_status_callback``, keyed by
  MessageSid) when no row has that provider id yet;
* :func:`apply_early_callbacks` runs once a provider id is recorded: it takes every
  callback kept for that sid and applies it through the normal path
  (:func:`service.actions.delivery.apply_status_callback`), which ranks statuses, so
  the order in which they arrived or are applied does not matter.

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

from service.db.locks import serialize_on
from service.db.models import EarlyStatusCallback
from service.ports import DeliveryReport
from service.runtime import Runtime

__all__ = ["KEEP_FOR", "apply_early_callbacks", "keep_early_callback", "sid_lock_key"]

log = logging.getLogger("service.delivery")

KEEP_FOR: Final = timedelta(days=2)


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
    from service.actions.delivery import apply_status_callback  # delivery calls us

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
