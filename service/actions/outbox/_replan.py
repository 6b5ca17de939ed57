"""Re-planning everyone for a new protocol revision, in short batches that never stop
the service.

A revision re-plans every active participant, in id order, a batch at a time. A batch
reads its participants, their outcomes and their message rows *outside* any
transaction (two statements a chunk), plans them (pure CPU, giving the event loop
way every few milliseconds and waiting while this process answers webhooks), and only
then opens one short transaction: take the re-planning lock, check the progress row
is still as read, hold the participants' rows and read their ``plan_version`` (one
statement), write the differences of those still as read (one guarded UPDATE per
group of values, the new rows in one COPY on PostgreSQL or multi-row INSERTs on
SQLite, one INSERT for the audit rows), move the cursor, commit. A participant
re-planned on their own meanwhile (which bumps ``plan_version`` under the same row
lock) is read and planned again; on the last of ``ATTEMPTS`` that is done under the
rows' locks. The batch size adapts so the write
transaction lasts about ``TARGET_S``: SQLite's write lock and PostgreSQL's row locks
are held for that long at most. On PostgreSQL the next batch is planned while the
server writes this one (decision 0131).

Progress lives in one ``service_state`` row (``protocol_replan``): the revision, the
last participant id done, and which run holds the work until when (a lease renewed by
every batch). A crash loses at most the batch in flight (rolled back, or never
begun); whoever finds the lease lapsed carries on from the cursor. A second process
that finds the lease held does not wait and does not repeat: it returns at once (its
periodic job looks again later). When the last batch commits, ``protocol_revision``
records the revision as planned and the progress row goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from service.actions.calendars import latest_outcomes_of
from service.actions.outbox._plan_rows import Inserts, PlanRows, insert_values, read_plan_rows
from service.actions.outbox._planner import PlanSync, compare_plan, replan_entry, write_sync
from service.db.locks import serialize_on
from service.db.models import AuditEntry, Participant, ServiceState
from service.domain.actors import SYSTEM
from service.domain.calendar import VisitOutcome as Outcome
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
SLICE_S = 0.003  # planning between two chances for the event loop (and its webhooks)
# The same while a batch commits on PostgreSQL: each of its statements waits for the
# event loop, and at 3 ms a first plan of 10,000 measured 3.1x pure planning, at 0.5 ms 2.6x.
WRITING_SLICE_S = 0.0005
# Participants read at once. Decoding a chunk's rows holds the event loop: at 25 a
# webhook answered during a re-plan waited about 10 ms at p50 (3 ms without one), at
# 10 about 5 ms.
READ_CHUNK = 10
ATTEMPTS = 3  # plans of a batch from rows read; the last attempt plans under the locks
# A study this large has a heap worth freezing while it re-plans (see _replan_all); a
# small one's full collections are short, and freezing it only delays its garbage.
FREEZE_FROM_PARTICIPANTS = 500


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


def _progress_of(state: ServiceState | None) -> _Progress | None:
    return _Progress.decode(state.value) if state is not None else None


def _taken_by_another(progress: _Progress | None, run: str, now: datetime) -> bool:
    return progress is not None and progress.run != run and progress.lease_until > now


def _cursor_of(progress: _Progress | None, revision: str) -> int:
    return progress.cursor if progress is not None and progress.revision == revision else 0


@dataclass(slots=True)
class _Plans:
    """A batch's plans, computed from rows read: per participant, what to write and
    its audit row (participants whose plan changes nothing are not here)."""

    of: dict[int, tuple[PlanSync, AuditEntry, Inserts]] = field(default_factory=dict)

    def only(self, ids: set[int]) -> _Plans:
        return _Plans({pid: plan for pid, plan in self.of.items() if pid in ids})


@dataclass(slots=True)
class _Chunk:
    """What planning ``READ_CHUNK`` participants reads: their outcomes and rows."""

    people: list[Participant]
    outcomes: dict[int, dict[str, Outcome]]
    rows: dict[int, PlanRows]


async def _read(
    rt: Runtime, people: list[Participant], now: datetime, *, locked: bool
) -> list[_Chunk]:
    """The inputs of ``people``, two statements a chunk of ``READ_CHUNK`` (giving the
    event loop way between chunks unless the caller's transaction holds their rows)."""
    chunks = []
    for start in range(0, len(people), READ_CHUNK):
        chunk = people[start : start + READ_CHUNK]
        ids = [p.id for p in chunk]
        chunks.append(_Chunk(chunk, await latest_outcomes_of(ids), await read_plan_rows(ids, now)))
        if not locked:
            await rt.inbox.give_way()
    return chunks


async def _plan_read(
    rt: Runtime, chunks: list[_Chunk], now: datetime, *, locked: bool, slice_s: float = SLICE_S
) -> _Plans:
    """Plan the participants read (pure), giving the event loop way every ``slice_s``
    unless their rows are ``locked`` by the caller's transaction."""
    plans = _Plans()
    sliced = time.perf_counter()
    for chunk in chunks:
        for person in chunk.people:
            if not locked and time.perf_counter() - sliced >= slice_s:
                await rt.inbox.give_way()  # planning is CPU: this process's requests go first
                sliced = time.perf_counter()
            recorded = frozenset(chunk.outcomes[person.id])
            sync = compare_plan(rt, person, chunk.rows[person.id], recorded, now)
            if sync.changes:  # audited as planned; a row claimed meanwhile stays the dispatcher's
                counts = (len(sync.new_rows), sync.moved, sync.cancelled)
                entry = replan_entry(rt, person, SYSTEM, now, counts)
                plans.of[person.id] = (sync, entry, insert_values(sync.new_rows))
    return plans


async def _plan(rt: Runtime, people: list[Participant], now: datetime, *, locked: bool) -> _Plans:
    return await _plan_read(rt, await _read(rt, people, now, locked=locked), now, locked=locked)


async def _write(rt: Runtime, plans: _Plans, now: datetime) -> int:
    """The plans' differences, rows of every participant taking the same values in
    one statement; returns the rows changed."""
    merged, inserts = PlanSync(), Inserts()
    for sync, _, rows in plans.of.values():
        merged.merge(sync)
        inserts.extend(rows)
    cancelled, moved = await write_sync(rt, merged, now, inserts)
    if plans.of:
        await AuditEntry.bulk_create([entry for _, entry, _ in plans.of.values()])
    return len(merged.new_rows) + cancelled + moved


@dataclass(slots=True)
class _Batch:
    """What one batch did: its status ("busy" | "done" | "more" | "again": the
    cursor moved meanwhile), participants re-planned, rows changed, and its longest
    write transaction (the longest any lock was held)."""

    status: str
    people: int = 0
    changed: int = 0
    locked_s: float = 0.0


@dataclass(slots=True)
class _Planned:
    """A batch read and planned outside any transaction: the cursor it follows, its
    participants (at most ``size``, in id order), the moment and the plans."""

    cursor: int
    size: int
    people: list[Participant]
    now: datetime
    plans: _Plans

    @property
    def last(self) -> bool:
        return len(self.people) < self.size


async def _people_after(cursor: int, size: int) -> list[Participant]:
    return (
        await Participant.filter(status=ParticipantStatus.ACTIVE, id__gt=cursor)
        .order_by("id")
        .limit(size)
    )


async def _begin(rt: Runtime, run: str, size: int) -> _Planned | _Batch:
    """The batch at the progress row's cursor, read and planned; or why there is none
    ("done": the revision is planned; "busy": another run holds the lease)."""
    now = rt.clock.now()
    revision = rt.protocol.revision
    if await _planned_revision() == revision:
        return _Batch("done")
    progress = _progress_of(await ServiceState.get_or_none(key=PROGRESS_KEY))
    if _taken_by_another(progress, run, now):
        return _Batch("busy")  # another run holds it (whatever its revision): no fight
    cursor = _cursor_of(progress, revision)
    people = await _people_after(cursor, size)
    return _Planned(cursor, size, people, now, await _plan(rt, people, now, locked=False))


async def _commit(rt: Runtime, run: str, batch: _Planned) -> _Batch:
    """Write in one short transaction the differences of the participants still as
    read; those changed meanwhile (their ``plan_version`` moved) are read and planned
    again, and on the last of ``ATTEMPTS`` planned under their rows' locks."""
    now, cursor, people = batch.now, batch.cursor, batch.people
    revision = rt.protocol.revision
    result = _Batch("more", people=len(people))
    pending = people
    plans: _Plans | None = batch.plans
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1:
            plans = await _plan(rt, pending, now, locked=False) if attempt < ATTEMPTS else None
        async with in_transaction():
            # Held from here to the commit; waiting for the connection (SQLite's is
            # shared with this process's webhooks) before it holds nothing.
            began = time.perf_counter()
            await serialize_on(_LOCK)
            if await _planned_revision() == revision:
                return _Batch("done")
            progress = _progress_of(await ServiceState.get_or_none(key=PROGRESS_KEY))
            if _taken_by_another(progress, run, now):
                return _Batch("busy")
            if _cursor_of(progress, revision) != cursor:
                return _Batch("again")
            # The participants' rows, held to the commit as a participant's own re-plan
            # holds them; one statement tells who changed since the read.
            holding = Participant.filter(id__in=[p.id for p in pending])
            versions = dict(await holding.select_for_update().values_list("id", "plan_version"))
            fresh = {p.id for p in pending if versions.get(p.id) == p.plan_version}
            if plans is None:  # the last attempt: read and plan under the rows' locks
                pending = await Participant.filter(
                    id__in=[p.id for p in pending], status=ParticipantStatus.ACTIVE
                )
                plans, fresh = await _plan(rt, pending, now, locked=True), {p.id for p in pending}
            result.changed += await _write(rt, plans.only(fresh), now)
            stale = [p.id for p in pending if p.id not in fresh]
            if not stale:
                if batch.last:
                    await _set_state(REVISION_KEY, revision, now)
                    await ServiceState.filter(key=PROGRESS_KEY).delete()
                    result.status = "done"
                else:
                    lease = _Progress(revision, people[-1].id, run, now + LEASE)
                    await _set_state(PROGRESS_KEY, lease.encode(), now)
        result.locked_s = max(result.locked_s, time.perf_counter() - began)
        if not stale:
            break
        # Changed meanwhile: read again (a withdrawal leaves them out) and plan again.
        pending = await Participant.filter(id__in=stale, status=ParticipantStatus.ACTIVE).order_by(
            "id"
        )
    return result


def _plans_ahead() -> bool:
    """Whether a batch is planned while the one before it commits (PostgreSQL)."""
    return connections.get("default").capabilities.dialect == "postgres"


async def _commit_and_plan_next(
    rt: Runtime, run: str, batch: _Planned, size: int
) -> tuple[_Batch, _Planned | None]:
    """Commit ``batch`` and, on PostgreSQL, plan the one after it (of ``size``)
    meanwhile: the next batch's inputs are read first, then its planning (CPU, in this
    process) runs while the server writes this one (in its own process), instead of
    after it. The next batch follows this one's last participant; it is dropped unless
    this one commits as read ("more"), and its own transaction checks again that the
    cursor is where it began.

    SQLite commits first: its statements run in a thread of this process that needs
    the interpreter's lock the planning holds, and overlapped, a first plan of 10,000
    measured 3.4x pure planning against 2.8x one after the other."""
    if batch.last or not _plans_ahead():
        return await _commit(rt, run, batch), None
    now = rt.clock.now()
    cursor = batch.people[-1].id
    people = await _people_after(cursor, size)
    read = await _read(rt, people, now, locked=False)
    committing = asyncio.ensure_future(_commit(rt, run, batch))
    try:
        plans = await _plan_read(rt, read, now, locked=False, slice_s=WRITING_SLICE_S)
    except Exception:
        with contextlib.suppress(Exception):  # this batch stands alone: it still commits
            await committing
        raise
    except BaseException:  # cancelled: so is the write (rolled back, the cursor unmoved)
        committing.cancel()
        with contextlib.suppress(BaseException):
            await committing
        raise
    done = await committing
    return done, _Planned(cursor, size, people, now, plans) if done.status == "more" else None


async def _refresh_statistics() -> None:
    """PostgreSQL only: let the planner know how many rows are ``planned`` now, once
    before the first batch (a previous re-plan may have written them minutes ago).

    A batch's guarded UPDATEs name a status; with statistics that still say almost no
    row is planned, PostgreSQL may read them through the status index. Its reads name
    no status (decision 0130), so the rows this run writes need no refresh: the four
    more a first plan of 10,000 used to make took about 0.85 s. ANALYZE samples the
    table without blocking readers or writers, outside any transaction."""
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
    freeze = await Participant.all().count() >= FREEZE_FROM_PARTICIPANTS
    if freeze:  # see _replan_all
        # Garbage first: frozen, it would wait for a full collection after the re-plan
        # (an unclosed connection among it keeps its server slot meanwhile).
        gc.collect()
        gc.freeze()
    try:
        return await _replan_all(rt, revision, result)
    finally:
        if freeze:
            gc.unfreeze()


async def _replan_all(rt: Runtime, revision: str, result: ReplanRun) -> ReplanRun:
    """The batches of :func:`replan_run`, with the process's heap frozen (a study of
    ``FREEZE_FROM_PARTICIPANTS`` or more).

    A re-plan allocates rows by the thousand that live through a batch: they reach
    the oldest generation, and each full collection then walked the whole heap, for
    100–190 ms at a time on a process of 170,000 objects, holding the event loop
    (and a write transaction, when it fell inside one). With the objects that
    existed before the re-plan set aside (``gc.freeze``) a full collection walks
    only the re-plan's own and took under 5 ms; they return to the oldest
    generation at the end."""
    run = secrets.token_hex(8)
    size = FIRST_BATCH
    rt.non_working(rt.clock.now().date())  # load the holiday tables before any lock is held
    began = last_log = time.perf_counter()
    await _refresh_statistics()
    ahead: _Planned | None = None
    while True:
        current = ahead if ahead is not None else await _begin(rt, run, size)
        if isinstance(current, _Planned):
            batch, ahead = await _commit_and_plan_next(rt, run, current, size)
        else:
            batch, ahead = current, None
        if batch.status == "busy":
            result.busy = True
            break
        if batch.status == "again":
            continue
        if batch.people:
            result.batches += 1
        result.participants += batch.people
        result.changed += batch.changed
        took = batch.locked_s
        result.longest_s = max(result.longest_s, took)
        # Aim the next batch's write at TARGET_S (halving at most, growing by half at
        # most: a doubled batch overshot 250 ms when the write's pace changed). The
        # batch planned ahead has the size chosen one batch earlier.
        scale = min(1.5, max(0.5, TARGET_S / took)) if took > 0 else 1.5
        size = max(MIN_BATCH, min(MAX_BATCH, int(size * scale)))
        if batch.status == "done":
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
