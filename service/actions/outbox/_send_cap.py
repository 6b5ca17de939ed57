"""The send cap shared by every process: one token bucket row in the database.

Why in the database: ``SMS_RATE_PER_SECOND`` is the provider account's limit, and any
number of ``serve``/``worker`` processes send from that one account. A bucket kept in
each process lets N processes send at N times the cap; one row (``send_bucket``)
that every dispatcher takes tokens from, in a short transaction, cannot. A
transaction per *batch* (not per message) keeps it cheap: a dispatcher takes the
tokens for a whole batch *before* it claims that many rows, so no claimed row ever
waits for the cap (and no lease can lapse while waiting).

Tokens are SMS segments, as the provider meters them: a message is charged one token
when claimed and its remaining segments once rendered (the bucket may then go below
zero, which simply delays the next grant). Time is the runtime clock's, so every
process shares the moment of the last refill through the row itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.db.models import SendBucket

__all__ = ["BUCKET_KEY", "Grant", "SendCap"]

BUCKET_KEY = "sms"


@dataclass(frozen=True, slots=True)
class Grant:
    """How many tokens were granted, and when the next one will be there (seconds)."""

    tokens: int
    wait_s: float


class SendCap:
    """``per_second <= 0``: no cap (every request granted in full, nothing stored)."""

    def __init__(self, per_second: float, *, burst: float | None = None) -> None:
        self.per_second = per_second
        self.capacity = burst if burst is not None else max(1.0, per_second)

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0

    async def take(self, wanted: int, now: datetime) -> Grant:
        """Up to ``wanted`` tokens now (possibly none), in one short transaction."""
        if self.unlimited or wanted <= 0:
            return Grant(max(wanted, 0), 0.0)
        async with in_transaction() as conn:
            tokens = await self._locked_level(conn, now)
            granted = min(wanted, int(tokens)) if tokens >= 1 else 0
            left = tokens - granted
            await (
                SendBucket.filter(key=BUCKET_KEY)
                .using_db(conn)
                .update(tokens=left, refreshed_at=now)
            )
        wait = 0.0 if left >= 1 else (1 - left) / self.per_second
        return Grant(granted, wait)

    async def adjust(self, delta: float, now: datetime) -> None:
        """Give back unused tokens (``delta > 0``) or charge extra segments (``< 0``)."""
        if self.unlimited or delta == 0:
            return
        async with in_transaction() as conn:
            tokens = await self._locked_level(conn, now)
            await (
                SendBucket.filter(key=BUCKET_KEY)
                .using_db(conn)
                .update(tokens=min(self.capacity, tokens + delta), refreshed_at=now)
            )

    async def _locked_level(self, conn: BaseDBAsyncClient, now: datetime) -> float:
        """The bucket's level at ``now``, with its row write-locked for this transaction.

        The write comes first (a no-op UPDATE): on SQLite it takes the write lock before
        the read, so two processes never both read the same level; on PostgreSQL it
        locks the row.
        """
        bucket = SendBucket.filter(key=BUCKET_KEY).using_db(conn)
        if not await bucket.update(refreshed_at=F("refreshed_at")):
            await SendBucket.get_or_create(
                key=BUCKET_KEY,
                defaults={"tokens": self.capacity, "refreshed_at": now},
                using_db=conn,
            )
        row = await SendBucket.filter(key=BUCKET_KEY).using_db(conn).get()
        elapsed = max(0.0, (now - row.refreshed_at).total_seconds())
        return min(self.capacity, row.tokens + elapsed * self.per_second)
