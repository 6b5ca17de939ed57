"""A transaction is one transaction however its first statement reaches the database.

On SQLite the BEGIN travels with the transaction's first statement (one trip to
aiosqlite's thread fewer, decision 0121), and whatever else reaches the connection
first (an ORM insert, a bulk insert, a savepoint) sends it before itself: a statement
that ran before its BEGIN would commit on its own and survive the rollback."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from service.db.models import Site


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
