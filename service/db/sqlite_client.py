"""Tortoise's SQLite client, counting only the rows a statement itself changed.

Tortoise's SQLite client answers "rows changed" with the connection's
``total_changes`` before and after the statement, which also counts every row the
statement's triggers wrote. The service keeps figures by triggers (migrations 0037,
0039, 0041, 0042), so an UPDATE of one message's status answered 3, and what callers
count from it went wrong: a re-plan's audit of rows cancelled and moved, compare-and-set
checks. PostgreSQL answers the statement's own count. Here the cursor's ``rowcount``
(SQLite's ``changes()``: the statement's own rows) answers instead, in a transaction or
not. Used through ``engine = "service.db.sqlite_client"`` (``service.db.lifecycle``).
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
    conn: sqlite3.Connection, query: str, values: Sequence[Any]
) -> tuple[int, list[Any]]:
    """In aiosqlite's thread: the rows, and the statement's own count of changes."""
    cursor = conn.execute(query, values)
    try:
        rows = cursor.fetchall()
        return cursor.rowcount, rows
    finally:
        cursor.close()


class _OwnRowsCounted:
    """``execute_query`` whose count is the statement's own rows (or rows returned)."""

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
                _rows_and_own_count, connection._conn, query, values or []
            )
            return (changed if changed > 0 else len(rows)), rows


class _ExactCountTransaction(_OwnRowsCounted, SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_ExactCountTransaction(self))


class ExactCountSqliteClient(_OwnRowsCounted, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ExactCountTransaction(self), self._lock)


client_class = ExactCountSqliteClient
