"""Re-planning everyone for a new protocol revision, in short batches that never stop
the service.

A revision re-plans every active participant, in id order, a batch at a time. Each
batch is its own transaction: take the re-planning lock, read the progress row, read
the batch's participants, outcomes and planned rows (three statements), compute the
plans (pure), write only the differences (one guarded UPDATE per group of values, one
multi-row INSERT per chunk of new rows, one for the audit rows), move the cursor,
commit. The batch size adapts so a transaction lasts about ``TARGET_S``: SQLite's
write lock and PostgreSQL's row locks are held for that long at most, so webhooks,
dispatchers and pages go on between batches.

Progress lives in one ``service_state`` row (``protocol_replan``): the revision, the
last participant id done, and which run holds the work until when (a lease renewed by
every batch). A crash loses at most the batch in flight (rolled back); whoever finds
the lease lapsed carries on from the cursor. A second process that finds the lease
held does not wait and does not repeat: it returns at once (its periodic job looks
again later). When the last batch commits, ``protocol_revision`` records the
revision as planned and the progress row goes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from service.actions.calendars import latest_outcomes_of
from service.actions.outbox._plan_rows import read_plan_rows
from service.actions.outbox._planner import PlanSync, compare_plan, replan_entry, write_sync
from service.db.locks import serialize_on
from service.db.models import AuditEntry, Participant, ServiceState
from service.domain.actors import SYSTEM
from service.domain.states import ParticipantStatus
from service.runtime import Runtime

__all__ = [
    "PROGRESS_KEY",
    "REVISION_KEY",
    "ReplanRun",
    "replan_if_protocol_changed",
    "replan_remaining",
    "replan_run",
]

log = logging.getLogger("service.replanning")

REVISION_KEY = "protocol_revision"  # the revision whose plan is complete
PROGRESS_KEY = "protocol_replan"  # "revision|last id done|run|lease until" while under way
LEASE = timedelta(seconds=30)  # a run that stops renewing for this long is taken over
TARGET_S = 0.1  # aim for batches of about this long (the longest lock held)
FIRST_BATCH, MIN_BATCH, MAX_BATCH = 20, 10, 500
_LOCK = "protocol-replan"
_LOG_EVERY_S = 5.0
_YIELD_EVERY = 10  # participants planned between two chances for the event loop
ANALYZE_EVERY_ROWS = 20_000  # rows written between two refreshes of the statistics


@dataclass(slots=True)
class ReplanRun:
    """What one call did: batches, participants, rows changed, the longest batch
    (the longest any lock was held), the whole call's duration."""

    batches: int = 0
    participants: int = 0
    changed: int = 0
    longest_s: float = 0.0
    elapsed_s: float = 0.0
    busy: bool = False  # another run holds the lease: nothing was done here


@dataclass(frozen=True, slots=True)
class _Progress:
    revision: str
    cursor: int
    run: str
    lease_until: datetime

    def encode(self) -> str:
        return f"{self.revision}|{self.cursor}|{self.run}|{self.lease_until.isoformat()}"

    @staticmethod
    def decode(value: str) -> _Progress | None:
        parts = value.split("|")
        if len(parts) != 4:
            return None
        return _Progress(parts[0], int(parts[1]), parts[2], datetime.fromisoformat(parts[3]))


async def _planned_revision() -> str | None:
    state = await ServiceState.get_or_none(key=REVISION_KEY)
    return None if state is None else state.value


async def _set_state(key: str, value: str, now: datetime) -> None:
    await ServiceState.update_or_create(defaults={"value": value, "updated_at": now}, key=key)


async def _batch(rt: Runtime, run: str, size: int) -> tuple[str, int, int]:
    """One batch in one transaction: ("busy" | "done" | "more", participants, changed)."""
    now = rt.clock.now()
    revision = rt.protocol.revision
    async with in_transaction():
        await serialize_on(_LOCK)
        if await _planned_revision() == revision:
            return "done", 0, 0
        state = await ServiceState.get_or_none(key=PROGRESS_KEY)
        progress = _Progress.decode(state.value) if state is not None else None
        if progress is not None and progress.run != run and progress.lease_until > now:
            return "busy", 0, 0  # another run holds it (whatever its revision): no fight
        if progress is not None and progress.revision != revision:
            progress = None  # another revision's lapsed run: every participant again
        cursor = progress.cursor if progress is not None else 0
        people = (
            await Participant.filter(status=ParticipantStatus.ACTIVE, id__gt=cursor)
            .order_by("id")
            .limit(size)
            .select_for_update()
        )
        ids = [p.id for p in people]
        outcomes = await latest_outcomes_of(ids)
        rows = await read_plan_rows(ids, now)
        merged = PlanSync()
        entries: list[AuditEntry] = []
        for n, person in enumerate(people):
            if n % _YIELD_EVERY == 0:  # planning is CPU: let this process's requests run
                await asyncio.sleep(0)
            sync = compare_plan(rt, person, rows[person.id], frozenset(outcomes[person.id]), now)
            if sync.changes:  # audited as planned; a row claimed meanwhile stays the dispatcher's
                counts = (len(sync.new_rows), sync.moved, sync.cancelled)
                entries.append(replan_entry(rt, person, SYSTEM, now, counts))
                merged.merge(sync)
        cancelled, moved = await write_sync(rt, merged, now)
        if entries:
            await AuditEntry.bulk_create(entries)
        if len(people) < size:
            await _set_state(REVISION_KEY, revision, now)
            await ServiceState.filter(key=PROGRESS_KEY).delete()
            status = "done"
        else:
            lease = _Progress(revision, ids[-1], run, now + LEASE)
            await _set_state(PROGRESS_KEY, lease.encode(), now)
            status = "more"
    return status, len(people), len(merged.new_rows) + cancelled + moved


async def _refresh_statistics() -> None:
    """PostgreSQL only: let the planner know how many rows are ``planned`` now.

    A plan inserts rows faster than autovacuum re-counts them; with statistics that
    still say almost no row is planned, reading a batch's rows chose the status index
    and read every planned row of the study (100 ms a batch of ten at 3,000
    participants, against 2 ms through the participant index). ANALYZE samples the
    table without blocking readers or writers, outside any batch's transaction."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script("ANALYZE outbound_message")


async def replan_if_protocol_changed(rt: Runtime) -> int:
    """Re-plan every active participant for the protocol's revision if it was not yet
    planned; returns the rows changed here (0 when already done or under way in
    another process, which is then left to finish)."""
    return (await replan_run(rt)).changed


async def replan_run(rt: Runtime) -> ReplanRun:
    """:func:`replan_if_protocol_changed` with its figures (the benchmark reads them)."""
    revision = rt.protocol.revision
    result = ReplanRun()
    if await _planned_revision() == revision:
        return result
    run = secrets.token_hex(8)
    size = FIRST_BATCH
    rt.non_working(rt.clock.now().date())  # load the holiday tables before any lock is held
    began = last_log = time.perf_counter()
    analyzed_at = -ANALYZE_EVERY_ROWS  # fresh statistics before the first batch
    while True:
        if result.changed - analyzed_at >= ANALYZE_EVERY_ROWS:
            analyzed_at = result.changed
            await _refresh_statistics()
        start = time.perf_counter()
        status, people, changed = await _batch(rt, run, size)
        took = time.perf_counter() - start
        if status == "busy":
            result.busy = True
            break
        if people:
            result.batches += 1
        result.participants += people
        result.changed += changed
        result.longest_s = max(result.longest_s, took)
        # Aim the next batch at TARGET_S (halving at most, doubling at most).
        scale = min(2.0, max(0.5, TARGET_S / took)) if took > 0 else 2.0
        size = max(MIN_BATCH, min(MAX_BATCH, int(size * scale)))
        if status == "done":
            break
        if time.perf_counter() - last_log >= _LOG_EVERY_S:
            last_log = time.perf_counter()
            rate = result.participants / (last_log - began)
            log.info(
                "protocol revision %s: %d participants re-planned (%.0f/s), %d rows changed",
                revision[:12],
                result.participants,
                rate,
                result.changed,
            )
    took = result.elapsed_s = time.perf_counter() - began
    if result.participants or not result.busy:
        log.info(
            "protocol revision %s: %d participants re-planned in %d batches, %.1f s"
            " (longest batch %.0f ms), %d message rows changed",
            revision[:12],
            result.participants,
            result.batches,
            took,
            result.longest_s * 1000,
            result.changed,
        )
    return result


async def replan_remaining(rt: Runtime) -> int:
    """Active participants the current revision has not re-planned yet (a metric)."""
    if await _planned_revision() == rt.protocol.revision:
        return 0
    state = await ServiceState.get_or_none(key=PROGRESS_KEY)
    progress = _Progress.decode(state.value) if state is not None else None
    cursor = progress.cursor if progress and progress.revision == rt.protocol.revision else 0
    return await Participant.filter(status=ParticipantStatus.ACTIVE, id__gt=cursor).count()
