"""The outbox's one retry policy: how long to wait, how often, and what is never retried.

A transient failure (a status callback's undelivered, a send the provider refused for
now, a lapsed claim the provider never got) is tried again after a backoff while the
message still matters and attempts remain. A sign-in code is never retried: its text
exists only in the request that sent it (only its hash is stored), so it can be
neither looked up at the provider nor sent again; the person asks for a new code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from service.db.models import OutboundMessage
from service.domain.states import MessageKind

__all__ = ["MAX_ATTEMPTS", "NEVER_RETRIED", "attempts_used_up", "backoff", "next_attempt"]

MAX_ATTEMPTS: Final = 5
# Sign-in codes: never retried, never looked up (the module docstring says why).
NEVER_RETRIED: Final = frozenset({MessageKind.OTP})


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … failed attempt."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def attempts_used_up(row: OutboundMessage) -> bool:
    """No further attempt: the attempts are used up, or the kind is never retried."""
    return row.attempts >= MAX_ATTEMPTS or row.kind in NEVER_RETRIED


def next_attempt(row: OutboundMessage, now: datetime) -> datetime | None:
    """When to try a transiently failed message again, or None when it is not worth it
    (never retried, attempts used up, or the retry would come after the message
    stopped mattering)."""
    if row.kind in NEVER_RETRIED:
        return None
    when = now + backoff(row.attempts)
    if row.attempts < MAX_ATTEMPTS and (row.expires_at is None or when < row.expires_at):
        return when
    return None
