"""Serialising one kind of work per key (one phone number, one provider message id)
across every process that shares the database, for the length of a transaction.

* **PostgreSQL**: ``pg_advisory_xact_lock`` on a 64-bit hash of the key. It waits for
  whoever holds the same key, is released by the commit or rollback, and is
  re-entrant within a session, so a nested action may take it again.
* **SQLite** serialises writers for the whole file, so there is one lock for every
  key. Tortoise already runs one transaction at a time per process; across processes
  a deferred ``BEGIN`` would let two transactions read the same state before either
  writes, so the first statement here is a write (an UPDATE matching no row), which
  takes SQLite's write lock up front: the second process waits (busy timeout) until
  the first commits and then reads what it wrote.

Call it first thing inside ``in_transaction()``.
"""

from __future__ import annotations

import hashlib

from tortoise import connections

__all__ = ["lock_key", "serialize_on"]

_SQLITE_TAKE_WRITE_LOCK = "UPDATE service_state SET key = key WHERE 0"


def lock_key(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (PostgreSQL's advisory lock space)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def serialize_on(key: str) -> None:
    """Hold ``key`` until the current transaction ends."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_query(_SQLITE_TAKE_WRITE_LOCK)
    else:
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [lock_key(key)])
