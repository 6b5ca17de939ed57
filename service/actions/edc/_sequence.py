"""The sequencer: gives every committed source record its place in the EDC feed.

Why a separate step rather than reading source tables by id or timestamp: two
processes can commit rows out of order (id 41 commits after id 42), so a cursor over
source ids or commit times either skips 41 or needs a guess at a safety lag. Here the
cursor is ``edc_change.id``, assigned only by this sequencer, which finds records that
have *no* change row yet (an anti-join, not "id > last") and runs serialised: a table
lock on PostgreSQL, SQLite's single writer (a racing sequencer hits the unique key and
retries). A change row therefore always commits after every change row with a smaller
id, and a reader that has seen id N will never later find a new row below N.

The same step fixes each record's repeat instance and Insert/Update once, so the ODM
pull and the REDCap push can never disagree about them.

Why incremental (decision 0094): an anti-join over a whole source table costs as much
as the table is long, on every pull, push and batch. Each source therefore keeps a
*mark* (``edc_sequence_mark``): every row with a smaller id has its change row, or was
not fed when the mark passed it and is *watched* (``edc_sequence_watch``: an unsent
outbound message, a stranger's inbound one, rechecked once a run). What is
sequenced is still decided by absence (a row with no change row, found by reading the
source's rows from the mark and their change rows by range), never by "id > last";
the mark only says where reading may start. It moves forward over rows the batch saw
(and sequenced or watched) and stops at

- the first row still to be sequenced (it is the next batch's), and
- the first *gap* in the ids that may still be filled by a commit. That is what keeps
  "a row committed late with a lower id is still read" true. On PostgreSQL an id is
  taken from the table's sequence inside the inserting transaction, which holds a
  ROW EXCLUSIVE lock on the table from before it takes the id until it ends. So the
  batch reads the sequence's last value V, *then* asks ``pg_locks`` whether any other
  transaction holds a write lock on the table, *then* walks the rows: with no such
  transaction, every id up to V belongs to a transaction that has ended, so the walk
  (a later snapshot) sees each such row that committed, and the gaps up to V are ids
  that rolled back and may be passed. With a writer present, the mark stops at the
  first gap (a later batch passes it). On SQLite one writer holds the database until
  it commits, so no smaller id can commit after a larger one is visible; the mark
  stops at every gap all the same (ids come from AUTOINCREMENT, and a rolled-back id
  is reused, so gaps only come from deleted rows, which sources never have). This
  assumes ids come from the table's own sequence (cache 1, the default).

Batches are short transactions (the job and the pull/push run them until nothing is
left); the size adapts to keep each one near ``TARGET_BATCH_S``. On PostgreSQL the
lock is on ``edc_change`` alone: writers of the source tables never wait for it. On
SQLite a batch holds the one write lock, so batches rest ``SQLITE_REST_S`` apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError
from tortoise.transactions import in_transaction

from service.db.edc_models import (
    EdcChange,
    EdcSequenceMark,
    EdcSequenceWatch,
    EdcSource,
    EdcTransaction,
)
from service.db.models import Checkin, InboundMessage, Infusion, OutboundMessage, Participant
from service.db.models import VisitOutcome as VisitOutcomeRow

__all__ = ["SequencingRun", "sequence_backlog", "sequence_changes"]

log = logging.getLogger("service.edc.sequence")

# Rows each source may contribute to one batch: starts here, then doubles or halves to
# keep a batch near TARGET_BATCH_S (bench/bench_edc.py --sequencing measures it).
BATCH: Final = 500
MIN_BATCH: Final = 50
MAX_BATCH: Final = 1000
TARGET_BATCH_S: Final = 0.1
# Rows the mark may pass in one batch (each costs one index probe): twice the batch,
# so it passes what the batch sequenced and, when behind, catches up in a few batches.
WALK_PER_ROW: Final = 2
# SQLite only: the rest between two batches. A writer waiting for the lock retries on
# SQLite's busy-handler schedule, at most this far apart; without the rest the next
# batch takes the lock back first and the writer waits for several batches.
SQLITE_REST_S: Final = 0.1
_ATTEMPTS: Final = 5
_VALUES_CHUNK: Final = 1000
# Where a source's mark starts: ids from a table's sequence (and AUTOINCREMENT) start at 1.
FIRST_ID: Final = 1
_FORM_OF_QUESTIONNAIRE: Final = {"symptoms": "sintomas", "pregnancy": "embarazo"}
_REPEATING: Final = frozenset({"sintomas", "embarazo", "contactos"})
_ALWAYS: Final = "1 = 1"
# Serialises sequencers; conflicts with no lock a writer of a source table takes.
LOCK_EDC_CHANGE: Final = "LOCK TABLE edc_change IN SHARE ROW EXCLUSIVE MODE"
TAKE_SQLITE_WRITE_LOCK: Final = "UPDATE edc_sequence_mark SET next_id = next_id WHERE 1 = 0"
_WRITE_LOCKS: Final = (
    "'RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'"
)


@dataclass(frozen=True, slots=True)
class _Source:
    table: str
    source: EdcSource
    # The condition a row must meet to be fed; a row that can meet it only later is
    # watched once the mark passes it.
    condition: str


_SOURCES: Final = (
    _Source("checkin", EdcSource.CHECKIN, _ALWAYS),
    _Source("visit_outcome", EdcSource.VISIT_OUTCOME, _ALWAYS),
    _Source("infusion", EdcSource.INFUSION, _ALWAYS),
    _Source(
        "outbound_message",
        EdcSource.OUTBOUND,
        "s.participant_id IS NOT NULL AND s.sent_at IS NOT NULL",
    ),
    _Source("inbound_message", EdcSource.INBOUND, "s.participant_id IS NOT NULL"),
)


@dataclass(frozen=True, slots=True)
class SequencingRun:
    """What one run did, for the job's progress line (counts and times only)."""

    added: int
    batches: int
    seconds: float
    longest_batch_s: float

    @property
    def rate(self) -> float:
        return self.added / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class _Pending:
    source: EdcSource
    source_id: int
    participant_id: int
    form: str
    repeat_key: str


def _postgres(conn: BaseDBAsyncClient) -> bool:
    return bool(conn.capabilities.dialect == "postgres")


async def _rows(
    conn: BaseDBAsyncClient, sql: str, values: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    return list(await conn.execute_query_dict(sql, list(values)))


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    fed: bool  # meets the source's condition now
    done: bool  # has its change row


async def _scan(conn: BaseDBAsyncClient, src: _Source, start: int, limit: int) -> list[_Row]:
    """The source's rows from ``start`` in id order, and which have their change row.

    Two plain index range scans, not an anti-join: a join leaves the plan to the
    statistics, and while a backlog is sequenced ``edc_change`` grows faster than they
    follow (a hash join over both whole tables took 130 ms a batch at 100,000 rows).
    """
    p = "$1" if _postgres(conn) else "?"
    rows = await _rows(
        conn,
        f"SELECT s.id, CASE WHEN {src.condition} THEN 1 ELSE 0 END AS fed "  # noqa: S608  # fixed names
        f"FROM {src.table} s WHERE s.id >= {p} ORDER BY s.id LIMIT {int(limit)}",
        [start],
    )
    if not rows:
        return []
    low, high = int(rows[0]["id"]), int(rows[-1]["id"])
    p2 = "$2" if _postgres(conn) else "?"
    done = {
        int(r["source_id"])
        for r in await _rows(
            conn,
            f"SELECT source_id FROM edc_change WHERE source = '{src.source.value}' "  # noqa: S608  # fixed names
            f"AND source_id >= {p} AND source_id <= {p2}",
            [low, high],
        )
    }
    return [_Row(int(r["id"]), bool(r["fed"]), int(r["id"]) in done) for r in rows]


async def _watched_fed(conn: BaseDBAsyncClient) -> dict[EdcSource, list[int]]:
    """Watched rows that are fed now (sent, or their sender identified), per source.

    Read once a run, before its batches and outside their transactions: a read takes
    no lock, and the watch list holds every planned message of the study (tens of
    thousands of rows a thousand participants), so reading it inside each batch held
    the lock for as long as the list was long. One joined statement a source; what
    becomes fed during the run is the next run's (a pull starts a run, so it still
    reads everything committed before it began)."""
    found: dict[EdcSource, list[int]] = {}
    for src in _SOURCES:
        if src.condition == _ALWAYS:
            continue
        rows = await _rows(
            conn,
            f"SELECT s.id FROM edc_sequence_watch w JOIN {src.table} s ON s.id = w.source_id "  # noqa: S608  # fixed names
            f"WHERE w.source = '{src.source.value}' AND {src.condition} ORDER BY s.id",
        )
        if rows:
            found[src.source] = [int(r["id"]) for r in rows]
    return found


async def _still_watched(conn: BaseDBAsyncClient, source: EdcSource, ids: list[int]) -> list[int]:
    """Those of ``ids`` still on the watch list (another sequencer may have fed them)."""
    kept = await (
        EdcSequenceWatch.filter(source=source, source_id__in=ids)
        .using_db(conn)
        .values_list("source_id", flat=True)
    )
    return sorted(int(str(i)) for i in kept)


async def _settled_up_to(conn: BaseDBAsyncClient, src: _Source) -> int | None:
    """The highest id no transaction can still commit (PostgreSQL), or None if a writer
    is in flight or this is SQLite. Order matters: the sequence's value first, then the
    lock check, then (in the caller) the walk; see the module docstring."""
    if not _postgres(conn):
        return None
    row = (
        await _rows(
            conn,
            f"SELECT pg_sequence_last_value(pg_get_serial_sequence('{src.table}', 'id')::regclass)"
            " AS v",
        )
    )[0]
    last = int(row["v"] or 0)
    writers = await _rows(
        conn,
        f"SELECT 1 AS w FROM pg_locks WHERE relation = '{src.table}'::regclass "  # noqa: S608
        f"AND mode IN ({_WRITE_LOCKS}) AND pid IS DISTINCT FROM pg_backend_pid() LIMIT 1",
    )
    return None if writers else last


@dataclass(frozen=True, slots=True)
class _Advance:
    mark: int
    watch: list[int]
    more: bool  # the walk stopped at its length, not at a row or a gap


def _advance(rows: Sequence[_Row], mark: int, settled: int | None, walk: int) -> _Advance:
    """Where the mark may move, given the rows from it in id order (``done`` counting
    this batch's change rows) and read *after* ``settled`` was (see the module
    docstring)."""
    expected, watch = mark, list[int]()
    for row in rows:
        gap_may_fill = row.id > expected and (settled is None or row.id - 1 > settled)
        if gap_may_fill:
            return _Advance(expected, watch, more=False)
        if not row.done:
            if row.fed:
                return _Advance(row.id, watch, more=False)  # the next batch's
            watch.append(row.id)
        expected = row.id + 1
    if len(rows) == walk:
        return _Advance(expected, watch, more=True)
    if settled is not None:
        expected = max(expected, settled + 1)
    return _Advance(expected, watch, more=False)


async def _pending(source: EdcSource, ids: list[int]) -> list[_Pending]:
    if source is EdcSource.CHECKIN:
        rows = await Checkin.filter(id__in=ids).values_list(
            "id", "participant_id", "questionnaire", "checkin_key"
        )
        return [_Pending(source, i, p, _FORM_OF_QUESTIONNAIRE.get(q, q), k) for i, p, q, k in rows]
    if source is EdcSource.VISIT_OUTCOME:
        rows = await VisitOutcomeRow.filter(id__in=ids).values_list(
            "id", "participant_id", "visit_code"
        )
        return [_Pending(source, i, p, "visita", code) for i, p, code in rows]
    if source is EdcSource.INFUSION:
        rows = await Infusion.filter(id__in=ids).values_list("id", "participant_id", "number")
        return [_Pending(source, i, p, "infusion", str(n)) for i, p, n in rows]
    model = OutboundMessage if source is EdcSource.OUTBOUND else InboundMessage
    prefix = "out" if source is EdcSource.OUTBOUND else "in"
    pairs = await model.filter(id__in=ids).values_list("id", "participant_id")
    return [_Pending(source, i, p, "contactos", f"{prefix}:{i}") for i, p in pairs]


def _values(conn: BaseDBAsyncClient, rows: Sequence[tuple[Any, ...]], types: Sequence[str]) -> str:
    if not _postgres(conn):
        one = "(" + ", ".join("?" for _ in types) + ")"
        return ", ".join(one for _ in rows)
    width, parts = len(types), []
    for n in range(len(rows)):
        cells = (f"${n * width + i + 1}::{t}" for i, t in enumerate(types))
        parts.append("(" + ", ".join(cells) + ")")
    return ", ".join(parts)


async def _seek_each(
    conn: BaseDBAsyncClient, keys: list[tuple[Any, ...]], types: tuple[str, ...], found: str
) -> dict[tuple[Any, ...], int]:
    """For each key (participant, form[, repeat key]), the number the correlated
    ``found`` query gives over ``v.p``, ``v.f`` (and ``v.k``): one index seek a key,
    chunked, rather than every change of these participants."""
    names = ("p", "f", "k")[: len(types)]
    result: dict[tuple[Any, ...], int] = {}
    for i in range(0, len(keys), _VALUES_CHUNK):
        chunk = keys[i : i + _VALUES_CHUNK]
        sql = (
            f"WITH v({', '.join(names)}) AS (VALUES {_values(conn, chunk, types)}) "  # noqa: S608  # placeholders only
            f"SELECT {', '.join('v.' + n + ' AS ' + n for n in names)}, ({found}) AS found FROM v"
        )
        for r in await _rows(conn, sql, [x for key in chunk for x in key]):
            if r["found"] is not None:
                key = (int(r["p"]), *(str(r[n]) for n in names[1:]))
                result[key] = int(r["found"])
    return result


async def _known_slots(
    conn: BaseDBAsyncClient, slots: set[tuple[int, str, str]]
) -> dict[tuple[int, str, str], int]:
    """The instance already given to each slot (a check-in's earlier version)."""
    found = await _seek_each(
        conn,
        sorted(slots),
        ("bigint", "text", "text"),
        "SELECT e.instance FROM edc_change e WHERE e.participant_id = v.p AND e.form = v.f "
        "AND e.repeat_key = v.k LIMIT 1",
    )
    return {(int(k[0]), str(k[1]), str(k[2])): n for k, n in found.items()}


async def _top_instances(
    conn: BaseDBAsyncClient, forms: set[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """The highest instance of each participant's repeating form, on (participant_id,
    form, instance)."""
    found = await _seek_each(
        conn,
        sorted(forms),
        ("bigint", "text"),
        "SELECT e.instance FROM edc_change e WHERE e.participant_id = v.p AND e.form = v.f "
        "ORDER BY e.instance DESC LIMIT 1",
    )
    return {(int(k[0]), str(k[1])): n for k, n in found.items()}


async def _place(
    conn: BaseDBAsyncClient, pending: Sequence[_Pending], now: datetime
) -> list[EdcChange]:
    participants = {p.participant_id for p in pending}
    sites = dict(await Participant.filter(id__in=participants).values_list("id", "site_id"))
    known = await _known_slots(conn, {(p.participant_id, p.form, p.repeat_key) for p in pending})
    top = await _top_instances(
        conn, {(p.participant_id, p.form) for p in pending if p.form in _REPEATING}
    )
    changes = []
    for item in sorted(pending, key=lambda p: (p.source.value, p.source_id)):
        slot = (item.participant_id, item.form, item.repeat_key)
        if slot in known:
            instance, transaction = known[slot], EdcTransaction.UPDATE
        else:
            repeating = item.form in _REPEATING
            instance = top.get(slot[:2], 0) + 1 if repeating else 1
            top[slot[:2]] = instance
            known[slot] = instance
            transaction = EdcTransaction.INSERT
        changes.append(
            EdcChange(
                source=item.source,
                source_id=item.source_id,
                participant_id=item.participant_id,
                site_code=sites[item.participant_id],
                form=item.form,
                repeat_key=item.repeat_key,
                instance=instance,
                transaction=transaction,
                sequenced_at=now,
            )
        )
    return changes


async def _marks(conn: BaseDBAsyncClient) -> dict[EdcSource, int]:
    rows = await EdcSequenceMark.all().using_db(conn).values_list("source", "next_id")
    return {EdcSource(source): int(next_id) for source, next_id in rows}


async def _save_mark(conn: BaseDBAsyncClient, source: EdcSource, old: int | None, new: int) -> None:
    if old is None:
        await EdcSequenceMark.create(source=source, next_id=new, using_db=conn)
    elif new != old:
        await EdcSequenceMark.filter(source=source).using_db(conn).update(next_id=new)


@dataclass(frozen=True, slots=True)
class _Batch:
    added: int
    # A source had a full batch waiting, or the mark's walk was cut short: go on. When
    # neither, everything committed before the batch began is sequenced, so a run ends
    # even while writers keep committing.
    more: bool
    taken: dict[EdcSource, int]  # watched rows fed from the run's list


async def _one_batch(
    now: datetime,
    size: int,
    cursors: dict[EdcSource, int],
    watched: dict[EdcSource, list[int]],
) -> _Batch:
    """One transaction. ``cursors`` (this run's, updated here) is where each source's
    scan goes on: at the mark, or past it when the mark waits at a gap, so a run
    always moves forward; every row the run must see is above the mark it began at.
    ``watched``: the run's watched rows found fed (``_watched_fed``); the batch says how
    many of each it took, removed by the caller once it committed."""
    async with in_transaction() as conn:
        if _postgres(conn):
            await conn.execute_script(LOCK_EDC_CHANGE)
        else:
            # SQLite's write lock first, waiting for it (busy timeout) like any writer:
            # a transaction that read first and writes later cannot wait for it, and
            # fails at once if another process committed in between.
            await conn.execute_query(TAKE_SQLITE_WRITE_LOCK)  # not a script: that commits
        marks = await _marks(conn)
        pending: list[_Pending] = []
        taken: dict[EdcSource, int] = {}
        full = more = False
        settled: dict[EdcSource, int | None] = {}
        scanned: dict[EdcSource, list[_Row]] = {}
        starts: dict[EdcSource, int] = {}
        for src in _SOURCES:
            mark = marks.get(src.source, FIRST_ID)
            start = starts[src.source] = max(mark, cursors.get(src.source, mark))
            settled[src.source] = await _settled_up_to(conn, src)  # before the scan
            rows = scanned[src.source] = await _scan(conn, src, start, size)
            if rows:
                cursors[src.source] = rows[-1].id + 1
            full = full or len(rows) == size
            ids = []
            if watched.get(src.source):
                waiting = watched[src.source]
                taken[src.source] = min(size, len(waiting))
                ids = await _still_watched(conn, src.source, waiting[:size])
                more = more or len(waiting) > size
            ids += [r.id for r in rows if r.fed and not r.done]
            if ids:
                pending.extend(await _pending(src.source, ids))
        changes = await _place(conn, pending, now) if pending else []
        if changes:
            await EdcChange.bulk_create(changes, using_db=conn)
            for src in _SOURCES:
                done = [c.source_id for c in changes if c.source is src.source]
                if done and src.condition != _ALWAYS:
                    await (
                        EdcSequenceWatch.filter(source=src.source, source_id__in=done)
                        .using_db(conn)
                        .delete()
                    )
        more = more or full
        for src in _SOURCES:
            old = marks.get(src.source)
            mark = FIRST_ID if old is None else old
            walk = WALK_PER_ROW * size
            rows = scanned[src.source]
            if starts[src.source] == mark:  # the scan is the walk
                sequenced = {c.source_id for c in changes if c.source is src.source}
                rows = [_Row(r.id, r.fed, r.done or r.id in sequenced) for r in rows]
                walk = size
            else:
                settled[src.source] = await _settled_up_to(conn, src)
                rows = await _scan(conn, src, mark, walk)
            advance = _advance(rows, mark, settled[src.source], walk)
            if advance.watch:
                await EdcSequenceWatch.bulk_create(
                    [EdcSequenceWatch(source=src.source, source_id=i) for i in advance.watch],
                    using_db=conn,
                )
            await _save_mark(conn, src.source, old, advance.mark)
            more = more or advance.more
        return _Batch(len(changes), more, taken)


def _next_size(size: int, elapsed: float) -> int:
    if elapsed < TARGET_BATCH_S / 2:
        return min(size * 2, MAX_BATCH)
    if elapsed > TARGET_BATCH_S:
        return max(size // 2, MIN_BATCH)
    return size


async def sequence_backlog(now: datetime, *, budget_s: float | None = None) -> SequencingRun:
    """Sequence committed records in short batches until none is left (or ``budget_s``
    of batches ran: the rest is the next run's). Call it outside a transaction; each
    batch commits on its own."""
    started = time.perf_counter()
    total = batches = attempts = 0
    longest = 0.0
    size = BATCH
    cursors: dict[EdcSource, int] = {}
    conn = connections.get("default")
    watched = await _watched_fed(conn)
    rest = 0.0 if _postgres(conn) else SQLITE_REST_S
    while True:
        if batches and rest:
            await asyncio.sleep(rest)
        batch_started = time.perf_counter()
        try:
            batch = await _one_batch(now, size, cursors, watched)
        except (IntegrityError, OperationalError, TransactionManagementError) as exc:
            # Another sequencer won the race (SQLite); what it wrote is skipped next time.
            attempts += 1
            if attempts >= _ATTEMPTS:
                raise
            log.info("edc sequencer raced another process (%s); retrying", type(exc).__name__)
            continue
        elapsed = time.perf_counter() - batch_started
        for source, count in batch.taken.items():
            del watched[source][:count]
        batches += 1
        longest = max(longest, elapsed)
        total += batch.added
        if batch.added:
            size = _next_size(size, elapsed)
        spent = time.perf_counter() - started
        if not batch.more or (budget_s is not None and spent >= budget_s):
            return SequencingRun(total, batches, spent, longest)


async def sequence_changes(now: datetime) -> int:
    """Sequence every committed record not sequenced yet; returns how many were added.

    A pull or push calls it first, so it reads everything committed before it began;
    with the background job (``edc.sequence``) running, it finds little to do.
    """
    return (await sequence_backlog(now)).added
