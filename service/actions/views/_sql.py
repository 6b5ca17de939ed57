"""Raw SQL for the dashboard's figures, written once for SQLite and PostgreSQL.

The figures need window functions, CASE sums and row-value comparisons that the ORM's
query builder does not express; the few differences between the two databases
(placeholders, a real division, byte-order text) are filled in here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

__all__ = [
    "Dialect",
    "as_date",
    "as_instant",
    "atomically",
    "dialect",
    "execute",
    "execute_many",
    "fetch",
]

_PLACEHOLDER = re.compile(r"\?")


class Dialect:
    """What differs: ``{c}`` orders text by code point as Python does (PostgreSQL's
    default collation would not), ``{real}`` is a double-precision cast (so a rate
    equals Python's ``a / b`` bit for bit), ``{participant_key}`` is the key of
    participant ``p``'s schedule copy (one parameter: the fingerprint; dates as ISO
    text on both databases)."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.c = ' COLLATE "C"' if postgres else ""
        self.real = "DOUBLE PRECISION" if postgres else "REAL"
        day = "to_char({}, 'YYYY-MM-DD')" if postgres else "{}"  # SQLite stores ISO text
        self.participant_key = (
            "? || '|' || "
            + day.format("p.baseline_infusion_date")
            + " || '|' || COALESCE("
            + day.format("p.second_infusion_date")
            + ", '') || '|' || CASE WHEN p.can_become_pregnant THEN '1' ELSE '0' END"
            " || '|' || p.timezone || '|' || COALESCE(p.preferred_time, '')"
        )

    def sql(self, text: str) -> str:
        text = text.format(
            c=self.c,
            real=self.real,
            participant_key=self.participant_key,
        )
        if not self.postgres:
            return text
        counter = iter(range(1, 10_000))
        return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", text)


def dialect() -> Dialect:
    return Dialect(connections.get("default").capabilities.dialect == "postgres")


async def fetch(text: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of one statement written with ``?`` placeholders and ``{c}``/``{real}``."""
    conn = connections.get("default")
    sql = dialect().sql(text)
    return list(await conn.execute_query_dict(sql, [_utc(v) for v in params]))


async def execute(text: str, params: Sequence[Any]) -> None:
    """One statement that returns no rows."""
    conn = connections.get("default")
    await conn.execute_query(dialect().sql(text), [_utc(v) for v in params])


async def atomically(statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Statements that return no rows, in one transaction: all or none."""
    d = dialect()
    async with in_transaction("default") as conn:
        for text, params in statements:
            await conn.execute_query(d.sql(text), [_utc(v) for v in params])


async def execute_many(text: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement for many rows (one round of the driver's executemany)."""
    if rows:
        conn = connections.get("default")
        await conn.execute_many(dialect().sql(text), [[_utc(v) for v in r] for r in rows])


def _utc(value: Any) -> Any:
    """Instants in UTC, as stored: SQLite compares them as text."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def as_instant(value: Any) -> datetime:
    """SQLite hands an instant computed by an expression (``MIN``) back as its stored
    text; PostgreSQL as an aware datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def as_date(value: Any) -> date:
    """SQLite hands a date column back as its ISO text; PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
