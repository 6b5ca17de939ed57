"""The outbox's public surface: what alerts, replies, check-ins and sign-in codes use
to have a message sent.

Callers create rows inside their own transaction with ``enqueue_now`` and, once that
transaction has committed, call ``wake`` so a dispatcher sends them promptly instead of
at its next tick. Everything else about sending (claiming, retrying, reconciling) is the
outbox's own business.
"""

from __future__ import annotations

from service.actions.dispatch import enqueue_now
from service.runtime import Runtime

__all__ = ["enqueue_now", "wake"]


def wake(rt: Runtime) -> None:
    """Tell the dispatchers a row is due now. Never blocks, never raises."""
    rt.wake_dispatcher()
