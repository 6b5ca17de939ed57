"""Pace outgoing SMS so the provider never has to push back.

Twilio queues what a sender cannot deliver at once and answers 429/20429 when the
account's request rate is exceeded; both show up as late reminders. A token bucket in
front of the gateway keeps a dispatch burst (the 09:00 wave of day-before reminders)
within what the account can take. It measures with ``time.monotonic``: this is
infrastructure pacing, not a domain decision, so the injectable Clock is not involved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from service.ports import ProviderError, ProviderReceipt, SmsGateway

__all__ = ["RateLimitedGateway"]


class RateLimitedGateway:
    """Wraps any SmsGateway; ``send`` waits for a token, everything else passes through.

    ``per_second <= 0`` disables pacing. ``burst`` is the bucket size (default: one
    second's worth, at least one message). Waiters are served first come, first served.
    Only ``send`` is paced: ``find_sent`` is a rare reconciliation read. ``monotonic``
    and ``sleep`` are injectable so a test can check the pacing without waiting for it.
    """

    def __init__(
        self,
        inner: SmsGateway,
        per_second: float,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.per_second = per_second
        self._capacity = burst if burst is not None else max(1.0, per_second)
        if per_second > 0 and self._capacity < 1:
            raise ValueError("burst must allow at least one message")
        self._tokens = self._capacity
        self._monotonic = monotonic
        self._sleep = sleep
        self._updated = monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._monotonic()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self.per_second)
        self._updated = now

    async def _acquire(self) -> None:
        # The lock is held across the sleep on purpose: it queues later callers
        # behind the one waiting, which is what makes the order fair.
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.per_second)
                self._refill()
            self._tokens -= 1

    async def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_period_s: int | None = None,
    ) -> ProviderReceipt:
        if self.per_second > 0:
            await self._acquire()
        return await self.inner.send(
            to, body, status_callback=status_callback, validity_period_s=validity_period_s
        )

    async def find_sent(self, to: str, body: str, since: datetime) -> ProviderReceipt | None:
        return await self.inner.find_sent(to, body, since)

    def explain_error(self, code: int | None) -> ProviderError:
        return self.inner.explain_error(code)

    async def aclose(self) -> None:
        await self.inner.aclose()
