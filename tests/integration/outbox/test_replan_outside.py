"""A protocol re-plan plans each batch outside its write transaction.

Participants changed between the read and the write (their own re-plan bumped
``plan_version``) are planned again and end as one at a time would plan them; a
crash inside a batch's write transaction loses only that batch; and while a batch
plans, no lock is held: another connection can take SQLite's write lock at once.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.actions.outbox import _plan_rows, _replan, desired_messages, replan_run
from service.actions.outbox._plan_rows import insert_values, new_row
from service.actions.participants import (
    update_participant,
)
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant, ServiceState
from service.domain.states import MessageKind
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings
from tests.support.replan_support import ADMIN, enrolled_study

PEOPLE = 6


@pytest.fixture
async def rt(db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Runtime:
    runtime = await enrolled_study(settings, clock, gateway, people=PEOPLE, phone_prefix="+5696124")
    # As before the first plan: no planned rows, no revision recorded.
    await OutboundMessage.all().delete()
    await AuditEntry.filter(action="messages.replan").delete()
    await ServiceState.filter(key__in=["protocol_revision", "protocol_replan"]).delete()
    return runtime


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_replan, "FIRST_BATCH", 2)
    monkeypatch.setattr(_replan, "MIN_BATCH", 2)
    monkeypatch.setattr(_replan, "MAX_BATCH", 2)


async def _as_one_at_a_time(rt: Runtime) -> Counter[tuple[int, str, str, Any]]:
    wanted: Counter[tuple[int, str, str, Any]] = Counter()
    for person in await Participant.all():
        for m in await desired_messages(rt, person, rt.clock.now()):
            wanted[(person.id, m.purpose, m.occurrence, m.send_at)] += 1
    return wanted


async def _rows() -> Counter[tuple[int, str, str, Any]]:
    rows = await OutboundMessage.all().values_list(
        "participant_id", "purpose", "occurrence", "send_at"
    )
    return Counter((int(pid), str(p), str(o), at) for pid, p, o, at in rows)


async def test_a_participant_changed_between_read_and_write_is_planned_again(
    either_pace: None, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _replan._plan_read
    planned: list[list[str]] = []

    async def someone_edits_meanwhile(
        rt_: Runtime, chunks: list[Any], now: Any, **pace: Any
    ) -> Any:
        plans = await real(rt_, chunks, now, **pace)
        planned.append([p.study_id for chunk in chunks for p in chunk.people])
        if len(planned) == 2:  # the second batch read MSC-002 and MSC-003, then…
            await update_participant(rt, ADMIN, "MSC-002", {"preferred_time": "18:30"})
        return plans

    monkeypatch.setattr(_replan, "_plan_read", someone_edits_meanwhile)

    run = await replan_run(rt)

    # …their edit re-planned them alone (their rows exist): the batch wrote MSC-003's,
    # then read MSC-002 again and planned them from what is there now (while the batch
    # after it was planned: which of the two was planned first is the event loop's).
    assert planned[1] == ["MSC-002", "MSC-003"]
    assert planned[2:].count(["MSC-002"]) == 1
    assert run.participants == PEOPLE and not run.busy
    rows = await _rows()
    assert rows == await _as_one_at_a_time(rt)  # no duplicate, MSC-002 at 18:30
    edited = await Participant.get(study_id="MSC-002")
    assert edited.preferred_time == "18:30" and edited.plan_version == 2
    audited = await AuditEntry.filter(action="messages.replan").values_list("entity_id", "actor")
    assert Counter(audited)[("MSC-002", ADMIN.label)] == 1
    assert (await ServiceState.get(key="protocol_revision")).value == rt.protocol.revision


async def test_a_crash_inside_a_write_resumes_from_the_cursor(
    either_pace: None,
    rt: Runtime,
    settings: Settings,
    clock: ManualClock,
    gateway: SmsGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _replan.write_sync
    writes = 0

    async def dies_in_the_third_write(*args: Any) -> tuple[int, int]:
        nonlocal writes
        writes += 1
        done = await real(*args)  # rows written, then the process dies before the commit
        if writes == 3:
            raise RuntimeError("killed")
        return done

    monkeypatch.setattr(_replan, "write_sync", dies_in_the_third_write)
    with pytest.raises(RuntimeError):
        await replan_run(rt)
    monkeypatch.setattr(_replan, "write_sync", real)
    assert await AuditEntry.filter(action="messages.replan").count() == 4
    assert {pid for pid, *_ in await _rows()} == {1, 2, 3, 4}

    other = build_runtime(settings, clock=clock, gateway=gateway)
    assert (await replan_run(other)).busy  # the dead run's lease still holds
    clock.advance(seconds=_replan.LEASE.total_seconds() + 1)
    run = await replan_run(other)

    assert run.participants == PEOPLE - 4
    keys = Counter(row[:3] for row in (await _rows()).elements())
    assert keys == Counter(row[:3] for row in (await _as_one_at_a_time(rt)).elements())
    audited = await AuditEntry.filter(action="messages.replan").values_list("entity_id", flat=True)
    assert sorted(audited) == [f"MSC-{n:03d}" for n in range(PEOPLE)]


async def test_no_lock_is_held_while_a_batch_plans(
    rt: Runtime, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: another connection takes the write lock at once (no busy wait) while
    each participant is planned; every write transaction is short."""
    if not database_url.startswith("sqlite://"):
        pytest.skip("SQLite's file lock; PostgreSQL holds row locks only inside the write")
    path = database_url.removeprefix("sqlite://")
    real = _replan.compare_plan
    free: list[bool] = []

    def planning(*args: Any) -> Any:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free.append(True)
        except sqlite3.OperationalError:
            free.append(False)
        finally:
            other.close()
        return real(*args)

    monkeypatch.setattr(_replan, "compare_plan", planning)

    run = await replan_run(rt)

    assert free == [True] * PEOPLE
    assert run.participants == PEOPLE and run.longest_s < 0.25
    assert await _rows() == await _as_one_at_a_time(rt)


def _values(now: datetime, n: int, status: str) -> dict[str, Any]:
    return {
        "participant_id": 1,
        "kind": MessageKind.REMINDER,
        "purpose": f"reminder:V{n}:week_before",
        "occurrence": "1",
        "dedupe_key": f"1:reminder:V{n}:week_before:1",
        "status": status,
        "skip_reason": None if status == "planned" else "budget",
        "message_key": "reminder.clinic.week_before",
        "params": {"visit": f"V{n}", "budget": "moved"},
        "language": "es",
        "send_at": now + timedelta(days=n),
        "expires_at": now + timedelta(days=n + 1),
        "revision": "r",
        "created_at": now,
        "updated_at": now,
    }


async def test_new_rows_inserted_from_their_values_as_the_orm_inserts_them(rt: Runtime) -> None:
    """A batch converts its new rows' values before its transaction: the rows read back
    as those the ORM's ``bulk_create`` of the same values inserts."""
    now = rt.clock.now()

    await OutboundMessage.bulk_create(
        [new_row(**_values(now, 1, "planned")), new_row(**_values(now, 2, "cancelled"))]
    )
    async with in_transaction():
        await insert_values([_values(now, 3, "planned"), _values(now, 4, "cancelled")]).execute()

    skip = {
        "id",
        "dedupe_key",
        "purpose",
        "params",
        "send_at",
        "expires_at",
        "created_at",
        "updated_at",
    }
    read = [
        {k: v for k, v in row.items() if k not in skip}
        for row in await OutboundMessage.all().order_by("id").values()
    ]
    assert read[0] == read[2] and read[1] == read[3]
    rows = await OutboundMessage.all().order_by("id")
    assert [r.params["visit"] for r in rows] == ["V1", "V2", "V3", "V4"]
    assert [r.send_at - now for r in rows] == [timedelta(days=n) for n in (1, 2, 3, 4)]
    assert rows[2].created_at == rows[2].updated_at and rows[2].created_at.tzinfo is not None
    # As stored, not only as read back: the same text (SQLite) or type for each moment.
    conn = connections.get("default")
    _, stored = await conn.execute_query(
        "SELECT CAST(send_at AS TEXT), CAST(created_at AS TEXT) FROM outbound_message ORDER BY id"
    )
    shapes = {tuple(re.sub(r"\d", "9", str(value)) for value in row) for row in stored}
    assert len(shapes) == 1, stored


async def test_new_rows_beyond_one_statement_all_arrive_in_order(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite takes as many rows a statement as its parameters allow (five rows at two
    a statement are three statements), PostgreSQL one ``COPY``: every row kept."""
    now = rt.clock.now()
    inserts = insert_values([_values(now, n, "planned") for n in range(1, 6)])
    monkeypatch.setattr(_plan_rows, "_SQLITE_PARAMETERS", 2 * len(inserts.values[0]) + 1)
    async with in_transaction():
        await inserts.execute()
    rows = await OutboundMessage.all().order_by("id")
    assert [r.params["visit"] for r in rows] == ["V1", "V2", "V3", "V4", "V5"]
    assert [r.send_at - now for r in rows] == [timedelta(days=n) for n in range(1, 6)]


async def test_a_new_row_whose_key_is_taken_fails_the_whole_insert(rt: Runtime) -> None:
    """A key already taken raises the ORM's ``IntegrityError`` on both databases (as an
    ``INSERT`` does, not the driver's own error), and the transaction writes nothing."""
    now = rt.clock.now()
    await OutboundMessage.create(**_values(now, 2, "planned"))
    inserts = insert_values([_values(now, n, "planned") for n in range(1, 4)])
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await inserts.execute()
    assert [r.params["visit"] for r in await OutboundMessage.all()] == ["V2"]


def test_only_a_single_row_insert_is_made_multi_row() -> None:
    assert _plan_rows._multi_row('INSERT INTO "t" ("a","b") VALUES (?,?)', 2) == (
        'INSERT INTO "t" ("a","b") VALUES (?,?),(?,?)'
    )
    with pytest.raises(ValueError, match="single-row"):
        _plan_rows._multi_row('INSERT INTO "t" ("a") SELECT 1', 2)


async def test_values_converted_once_are_kept_as_first_converted(rt: Runtime) -> None:
    """Each distinct value is converted once a process: converting the same rows again
    (the values kept) and afresh (nothing kept) gives the same values."""
    now = rt.clock.now()
    rows = [_values(now, 1, "planned"), _values(now, 2, "cancelled"), _values(now, 1, "planned")]
    rows[2] = {**rows[2], "dedupe_key": "1:other", "params": {"budget": "moved", "visit": "V1"}}
    kept = insert_values(rows).values
    again = insert_values(rows).values
    _plan_rows._STATEMENTS.clear()
    afresh = insert_values(rows).values
    assert kept == again == afresh
    assert kept[0] != kept[2]  # the params' order is the JSON's
