"""A transaction is one transaction however its statements reach the database.

On SQLite the BEGIN travels with the transaction's first statement (decision 0121)
and the writes nobody reads the answer of (``hot_rows.insert_row``, ``update_row``)
with the next statement or the COMMIT (decision 0123), and whatever else reaches the
connection (an ORM insert, a bulk insert, a savepoint) sends them before itself: a
statement that ran before its BEGIN would commit on its own and survive the rollback,
and a write sent after a read would not be read. Both databases must answer alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.db.hot_rows import insert_row
from service.db.models import AuditEntry, InboxItem, Site
from service.domain.states import InboxReason


class _Undo(Exception):
    pass


def _site(code: str) -> Site:
    return Site(code=code, name=code, timezone="America/Santiago", help_line="+56220000000")


async def _rolled_back(first_statement: str) -> None:
    async with in_transaction() as conn:
        if first_statement == "query":
            await conn.execute_query(
                "INSERT INTO site (code, name, timezone, help_line, updated_at)"
                " VALUES ('TQ', 'q', 'UTC', '1', CURRENT_TIMESTAMP)"
            )
        elif first_statement == "orm insert":
            await _site("TQ").save()
        elif first_statement == "bulk insert":
            await Site.bulk_create([_site("TQ"), _site("TR")])
        elif first_statement == "savepoint":
            async with in_transaction():
                await _site("TQ").save()
        await _site("TS").save()
        raise _Undo


@pytest.mark.parametrize("first_statement", ["query", "orm insert", "bulk insert", "savepoint"])
async def test_a_rolled_back_transaction_leaves_nothing(db: None, first_statement: str) -> None:
    with pytest.raises(_Undo):
        await _rolled_back(first_statement)
    assert await Site.filter(code__in=["TQ", "TR", "TS"]).count() == 0


async def test_transactions_without_statements_and_one_after_another(db: None) -> None:
    async with in_transaction():
        pass  # nothing was sent: nothing to commit
    with pytest.raises(_Undo):
        async with in_transaction():
            raise _Undo
    for code in ("TA", "TB"):
        async with in_transaction():
            await _site(code).save()
    assert await Site.filter(code__in=["TA", "TB"]).count() == 2
    async with in_transaction() as conn:  # a read first, then a write, then commit
        assert await Site.filter(code="TA").exists()
        await conn.execute_query("DELETE FROM site WHERE code = 'TB'")
    assert await Site.filter(code__in=["TA", "TB"]).count() == 1


def _entry(n: int) -> dict[str, object]:
    return {
        "at": datetime(2027, 3, 1, tzinfo=UTC),
        "actor": "staff:test",
        "action": "test",
        "entity": "test",
        "entity_id": str(n),
        "changes": {},
        "reason": None,
    }


async def test_writes_that_wait_are_read_back_and_rolled_back(db: None) -> None:
    async with in_transaction():
        await insert_row(AuditEntry, _entry(1))
        assert await AuditEntry.filter(entity="test").count() == 1  # read after the write
        await insert_row(AuditEntry, _entry(2))  # sent with the COMMIT
    with pytest.raises(_Undo):
        async with in_transaction():
            await insert_row(AuditEntry, _entry(3))
            raise _Undo
    async with in_transaction():
        await insert_row(AuditEntry, _entry(4))
        with pytest.raises(_Undo):
            async with in_transaction():  # a savepoint: its own writes go with it
                await insert_row(AuditEntry, _entry(5))
                raise _Undo
        await insert_row(AuditEntry, _entry(6))
    ids = await AuditEntry.filter(entity="test").order_by("id").values_list("entity_id", flat=True)
    assert ids == ["1", "2", "4", "6"]


async def test_a_write_failing_at_the_commit_takes_the_whole_transaction(db: None) -> None:
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await _site("TF").save()
            await insert_row(AuditEntry, _entry(7))
            await insert_row(  # no such participant: fails when sent
                InboxItem,
                {
                    "participant_id": 999_999,
                    "site_id": None,
                    "inbound_id": None,
                    "reason": InboxReason.NOT_UNDERSTOOD,
                    "created_at": datetime(2027, 3, 1, tzinfo=UTC),
                },
            )
    assert not await Site.filter(code="TF").exists()
    assert not await AuditEntry.filter(entity="test").exists()
    async with in_transaction():  # the connection is free and clean
        await insert_row(AuditEntry, _entry(9))
    assert await AuditEntry.filter(entity="test").count() == 1
