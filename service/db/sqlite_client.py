"""Tortoise's SQLite client, counting only the rows a statement itself changed.

Tortoise's SQLite client answers "rows changed" with the connection's
``total_changes`` before and after the statement, which also counts every row the
statement's triggers wrote. The service keeps figures by triggers (migrations 0037,
0039, 0041, 0042), so an UPDATE of one message's status answered 3, and what callers
count from it went wrong: a re-plan's audit of rows cancelled and moved, compare-and-set
checks. PostgreSQL answers the statement's own count. Here the cursor's ``rowcount``
(SQLite's ``changes()``: the statement's own rows) answers instead, in a transaction or
not. Used through ``engine = "service.db.sqlite_client"`` (``service.db.lifecycle``).

A transaction's BEGIN also travels with its first statement (decision 0121), and the
writes whose answer nobody reads with the next statement or the COMMIT (decision
0123): every statement is a trip to aiosqlite's thread and back, about 90 µs on two
cores, and Tortoise spends two on BEGIN alone (a COMMIT of nothing, then BEGIN).
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
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

__all__ = ["ExactCountSqliteClient", "client_class"]


_Pending = tuple[bool, list[tuple[str, list[Any]]]]  # BEGIN still to send; writes waiting
_NOTHING: _Pending = (False, [])


def _send(conn: sqlite3.Connection, pending: _Pending) -> None:
    """In aiosqlite's thread: the transaction's BEGIN and waiting writes, in order."""
    begin, writes = pending
    if begin:
        _begin(conn)
    for query, values in writes:
        conn.execute(query, values).close()


def _rows_and_own_count(
    conn: sqlite3.Connection, query: str, values: Sequence[Any], pending: _Pending
) -> tuple[int, list[Any]]:
    """In aiosqlite's thread: what was waiting, then the statement: its rows, and its
    own count of changes."""
    _send(conn, pending)
    cursor = conn.execute(query, values)
    try:
        rows = cursor.fetchall()
        return cursor.rowcount, rows
    finally:
        cursor.close()


def _send_and_commit(conn: sqlite3.Connection, pending: _Pending) -> None:
    """In aiosqlite's thread: what was waiting, then COMMIT; if a waiting write fails,
    the whole transaction is rolled back here, so nothing of it stays on the connection."""
    try:
        _send(conn, pending)
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def _begin(conn: sqlite3.Connection) -> None:
    """In aiosqlite's thread: as Tortoise begins (ending whatever was left open)."""
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN")


class _Waiting:
    """What a transaction has yet to send: its BEGIN, and writes nobody reads the answer
    of. One for a transaction and the savepoints nested in it (the same connection)."""

    __slots__ = ("begin", "writes")

    def __init__(self) -> None:
        self.begin = False
        self.writes: list[tuple[str, list[Any]]] = []


class _OwnRowsCounted:
    """``execute_query`` whose count is the statement's own rows (or rows returned)."""

    def _take_waiting(self) -> _Pending:
        """Outside a transaction nothing waits."""
        return _NOTHING

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
                _rows_and_own_count, connection._conn, query, values or [], self._take_waiting()
            )
            return (changed if changed > 0 else len(rows)), rows


class _ExactCountTransaction(_OwnRowsCounted, SqliteTransactionWrapper):
    """Tortoise's transaction, whose BEGIN and writes nobody reads the answer of
    (``write_later``) wait for the next statement or the COMMIT to carry them; whatever
    else reaches the connection sends them first (``_send_waiting``)."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        # A savepoint's wrapper shares its transaction's: its SAVEPOINT must follow BEGIN.
        self._waiting: _Waiting = getattr(connection, "_waiting", None) or _Waiting()

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_ExactCountTransaction(self))

    def _take_waiting(self) -> _Pending:
        waiting = self._waiting
        if not waiting.begin and not waiting.writes:
            return _NOTHING
        taken = (waiting.begin, waiting.writes)
        waiting.begin, waiting.writes = False, []
        return taken

    async def _send_waiting(self) -> None:
        pending = self._take_waiting()
        if pending is not _NOTHING:
            try:
                await self._connection._execute(_send, self._connection._conn, pending)
            except sqlite3.Error as exc:
                raise _translated(exc) from exc

    def write_later(self, query: str, values: list[Any]) -> None:
        """A write whose answer nobody reads: sent, in order, with the next statement or
        the COMMIT (decision 0123). A failure shows there, and rolls the transaction back."""
        self.log.debug("%s: %s", query, values)
        self._waiting.writes.append((query.replace("\x00", "'||CHAR(0)||'"), values))

    async def begin(self) -> None:
        self._waiting.begin = True

    async def commit(self) -> None:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        begin, writes = self._take_waiting()
        if not writes:
            if begin:  # nothing was sent: nothing to commit
                self._finalized = True
                return
            await super().commit()
            return
        self._finalized = True
        try:
            await self._connection._execute(
                _send_and_commit, self._connection._conn, (begin, writes)
            )
        except sqlite3.Error as exc:
            raise _translated(exc) from exc

    async def rollback(self) -> None:
        begin, _ = self._take_waiting()  # the waiting writes are dropped with it
        if begin:  # nothing was sent: nothing to roll back
            self._finalized = True
            return
        await super().rollback()

    async def execute_insert(self, query: str, values: list[Any]) -> int:
        await self._send_waiting()
        return int(await super().execute_insert(query, values))

    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        await self._send_waiting()
        await super().execute_many(query, values)

    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        await self._send_waiting()
        return await super().execute_query_dict(query, values)

    async def execute_script(self, query: str) -> None:
        await self._send_waiting()
        await super().execute_script(query)

    async def savepoint(self) -> None:
        await self._send_waiting()
        await super().savepoint()

    async def savepoint_rollback(self) -> None:
        self._waiting.writes = []  # all written since the SAVEPOINT (which sent the rest)
        await super().savepoint_rollback()


def _translated(exc: sqlite3.Error) -> Exception:
    """As Tortoise's ``translate_exceptions`` names SQLite's errors."""
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(exc)
    return OperationalError(exc)


class ExactCountSqliteClient(_OwnRowsCounted, SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ExactCountTransaction(self), self._lock)


client_class = ExactCountSqliteClient
