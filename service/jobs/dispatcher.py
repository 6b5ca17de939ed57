"""The dispatcher loop: one per process, sending as soon as something is due.

Why a loop and not an interval job: a message due at a random moment must leave
within about a second, and a row created due now (an alert, a reply, a sign-in code,
an enrolment's first reminder) at once. The loop runs a dispatch pass, then sleeps
until the earliest of: the next planned row's ``send_at``, the next claim lease to
lapse (a dead process's rows are reconciled then, not minutes later), the cap's next
token, and ``DISPATCH_INTERVAL_SECONDS`` as a safety net. It wakes early on

* ``rt.wake_dispatcher()`` (the outbox's ``wake``, called after a commit in this
  process; a wake is followed by one quick re-check, for a caller that woke it just
  before its commit);
* PostgreSQL ``NOTIFY outbox_due``, which ``enqueue_now`` and the re-planner issue
  inside their transactions, so the database delivers it to every process on commit.
  The ``LISTEN`` connection is watched: when the database drops it (a restart, a
  reset) it is opened again within about ``LISTEN_CHECK_S``, and the loop makes one
  pass at once for whatever was notified meanwhile (polling covers the gap).

While a pass runs, a heartbeat renews its claims' leases (``reconcile.kept_alive``),
so a slow provider never lets a live claim lapse into another process's hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from service.actions.outbox import (
    NOTIFY_CHANNEL,
    SendCap,
    dispatch_due,
    next_due_at,
    next_lease_lapse,
)
from service.db.faults import database_fault
from service.db.lifecycle import database_dialect
from service.runtime import Runtime

__all__ = ["WAKE_RECHECK_S", "Dispatcher"]

log = logging.getLogger("service.dispatch")

WAKE_RECHECK_S = 0.2  # after a wake, look again this soon (the waker may commit just after)
MIN_SLEEP_S = 0.005
STOP_GRACE_S = 5.0  # a stopping process finishes the pass under way for this long
LISTEN_CHECK_S = 1.0  # how often the LISTEN connection is checked (and re-opened)
LISTEN_CONNECT_TIMEOUT_S = 5.0


class Dispatcher:
    """Owns the loop, the heartbeat and the PostgreSQL listener of one process."""

    def __init__(
        self,
        rt: Runtime,
        *,
        interval_s: float | None = None,
        cap: SendCap | None = None,
    ) -> None:
        self.rt = rt
        self.interval_s = float(interval_s or rt.settings.dispatch_interval_s)
        self.cap = cap or SendCap(rt.settings.sms_rate_per_second)
        self.claims: set[str] = set()  # claim tokens of batches in flight (heartbeat renews)
        self.passes = 0
        self._event = asyncio.Event()
        self._recheck = False
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: Any = None
        self._watch: asyncio.Task[None] | None = None
        self._database_down = False

    def wake(self) -> None:
        """Something may be due now. Never blocks, never raises."""
        self._recheck = True
        self._event.set()

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def start(self) -> None:
        self._stopping = False
        self.rt.wake_dispatcher.listen(self.wake)
        await self._listen()
        self._tasks = [
            asyncio.create_task(self._loop(), name="dispatcher"),
        ]
        if database_dialect() == "postgres":
            self._watch = asyncio.create_task(self._keep_listening(), name="listen-watch")

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Let the pass under way finish (its sends recorded, not left to
        reconciliation) for up to ``grace_s``, then cancel whatever remains."""
        self._stopping = True
        self._event.set()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        self.rt.wake_dispatcher.stop_listening()

    async def _loop(self) -> None:
        while not self._stopping:
            self._event.clear()
            recheck, self._recheck = self._recheck, False
            try:
                counts = await dispatch_due(self.rt, cap=self.cap, claims=self.claims)
                self.passes += 1
                delay = await self._sleep_for(counts.cap_wait_s)
            except Exception as exc:  # a failed pass is logged; the next one tries again
                self._failed(exc)
                delay = min(self.interval_s, 1.0)
            else:
                if self._database_down:
                    log.warning("dispatch resumed: the database answers again")
                    self._database_down = False
            if recheck:
                delay = min(delay, WAKE_RECHECK_S)
            if delay > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), max(delay, MIN_SLEEP_S))

    def _failed(self, exc: Exception) -> None:
        """A database outage is one line when it starts, not a traceback a second."""
        fault = database_fault(exc)
        if fault is None:
            log.exception("dispatch pass failed")
        elif not self._database_down:
            log.warning("dispatch paused: database %s (%s); retrying every second",
                        fault.value, type(exc).__name__)  # fmt: skip
            self._database_down = True

    async def _sleep_for(self, cap_wait_s: float) -> float:
        """Seconds until something may need this process (0: go again at once)."""
        now = self.rt.clock.now()
        moments: list[datetime] = []
        due = await next_due_at(self.rt)
        if due is not None:
            moments.append(due)
        lapse = await next_lease_lapse()
        if lapse is not None:
            moments.append(lapse + timedelta(milliseconds=50))
        delay = self.interval_s
        for moment in moments:
            delay = min(delay, (moment - now).total_seconds())
        if cap_wait_s > 0:
            # Due rows wait for the cap: come back when the next token is there.
            delay = cap_wait_s if due is not None and due <= now else min(delay, cap_wait_s)
        return max(delay, 0.0)

    async def _listen(self, *, quiet: bool = False) -> bool:
        """LISTEN on PostgreSQL (a dedicated connection); nothing to do on SQLite.
        Returns whether a listener is open."""
        if database_dialect() != "postgres":
            return False
        try:
            import asyncpg

            dsn = self.rt.settings.database_url.split("?", 1)[0]
            dsn = dsn.replace("postgres://", "postgresql://", 1)
            listener = await asyncpg.connect(dsn, timeout=LISTEN_CONNECT_TIMEOUT_S)
            await listener.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake())
        except Exception as exc:  # the loop still polls; a missing listener only costs latency
            if not quiet:
                log.warning("could not LISTEN for due messages (%s); polling", type(exc).__name__)
            self._listener = None
            return False
        self._listener = listener
        return True

    async def _keep_listening(self) -> None:
        """Re-open the LISTEN connection the database dropped; one log line each way."""
        lost = False
        while not self._stopping:
            await asyncio.sleep(LISTEN_CHECK_S)
            listener = self._listener
            if listener is not None and not listener.is_closed():
                continue
            if not lost:
                log.warning("LISTEN connection lost; re-opening it (polling meanwhile)")
                lost = True
            if listener is not None:
                with contextlib.suppress(Exception):
                    listener.terminate()
                self._listener = None
            if await self._listen(quiet=True):
                log.info("LISTEN connection re-opened")
                lost = False
                self.wake()  # a NOTIFY may have been missed while it was closed
