"""Tortoise's SQLite client, counting only the rows a statement itself changed.

Tortoise's SQLite client answers "rows changed" with the connection's
``total_changes`` before and after the statement, which also counts every row the
statement's triggers wrote. The service keeps figures by triggers (migrations 0037,
0039, 0041, 0042), so an UPDATE of one message's status answered 3, and what callers
count from it went wrong: a re-plan's audit of rows cancelled and moved, compare-and-set
checks. PostgreSQL answers the statement's own count. Here the cursor's ``rowcount``
(SQLite's ``changes()``: the statement's own rows) answers instead, in a transaction or
not. Used through ``engine = "service.db.sqlite_client"`` (``service.db.lifecycle``).

A transaction's BEGIN also travels with its first statement (decision 0121): every
statement is a trip to aiosqlite's thread and back, about 90 µs on two cores, and
Tortoise spends two on BEGIN alone (a COMMIT of nothing, then BEGIN). The inbox's
transaction of about a dozen statements is two trips shorter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)

__all__ = ["ExactCountSqliteClient", "client_class"]


def _rows_and_own_count(
    conn: sqlite3.Connection, query: str, values: Sequence[Any], begin: bool
) -> tuple[int, list[Any]]:
    """In aiosqlite's thread: the rows, and the statement's own count of changes;
    ``begin``: the transaction's BEGIN first."""
    if begin:
        _begin(conn)
    cursor = conn.execute(query, values)
    try:
        rows = cursor.fetchall()
        return cursor.rowcount, rows
    finally:
        cursor.close()


def _begin(conn: sqlite3.Connection) -> None:
    """In aiosqlite's thread: as Tortoise begins (ending whatever was left open)."""
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN")


class _Begin:
    """Whether a transaction's BEGIN is still to be sent; one for a transaction and
    the savepoints nested in it, which run on the same connection."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = False


class _OwnRowsCounted:
    """``execute_query`` whose count is the statement's own rows (or rows returned)."""

    def _take_begin(self) -> bool:
        """Outside a transaction there is nothing to begin."""
        return False

    @translate_exceptions
    async def execute_query(
        self: Any, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        query = query.replace("\x00", "'||CHAR(0)||'")  # as Tortoise's own client does
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            # One trip to aiosqlite's thread, as its execute_fetchall makes (a cursor's
            # execute, fetchall and close would be three): aiosqlite 0.22's _execute.
            changed, rows = await connection._execute(
                _rows_and_own_count, connection._conn, query, values or [], self._take_begin()
            )
            return (changed if changed > 0 else len(rows)), rows


class _ExactCountTransaction(_OwnRowsCounted, SqliteTransactionWrapper):
    """Tortoise's transaction, whose BEGIN waits for the first statement to carry it;
    whatever else reaches the connection sends it first (``_sent_begin``)."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        # A savepoint's wrapper shares its transaction's: its SAVEPOINT must follow BEGIN.
        self._begin_state: _Begin = getattr(connection, "_begin_state", None) or _Begin()

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_ExactCountTransaction(self))

    def _take_begin(self) -> bool:
        pending, self._begin_state.pending = self._begin_state.pending, False
        return pending

    async def _sent_begin(self) -> None:
        if self._take_begin():
            await self._connection._execute(_begin, self._connection._conn)

    async def begin(self) -> None:
        self._begin_state.pending = True

    async def commit(self) -> None:
        if self._take_begin():  # nothing was sent: nothing to commit
            self._finalized = True
            return
        await super().commit()

    async def rollback(self) -> None:
        if self._take_begin():
            self._finalized = True
            return
        await super().rollback()

    async def execute_insert(self, query: str, values: list[Any]) -> int:
        await self._sent_begin()
        return int(await super().execute_insert(query, values))

    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        await self._sent_begin()
        await super().execute_many(query, values)

    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        await self._sent_begin()
        return await super().execute_query_dict(query, values)

    async def execute_script(self, query: str) -> None:
        await self._sent_begin()
        await super().execute_script(query)

    async def savepoint(self) -> None:
        await self._sent_begin()
        await super().savepoint()


class ExactCountSqliteClient(_OwnRowsCounted, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ExactCountTransaction(self), self._lock)


client_class = ExactCountSqliteClient
