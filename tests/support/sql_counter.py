"""Count the SQL statements a block of code sends, on SQLite and PostgreSQL alike.

Tortoise logs every statement it executes on ``tortoise.db_client`` at DEBUG level
(both backends, raw ``execute_query`` included). Counting those records is the one
measure that works the same on both databases and needs no patching of the ORM; the
logger is switched to DEBUG only inside the block and does not propagate there, so
statements (and their parameters, which may hold personal data) never reach the
service's log handlers.

    async with count_sql() as sql:
        await client.get("/dashboard")
    assert sql.count == ...
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# Connection (pool) set-up and tear-down: SQLite reconnects when a test's loop changes.
_NOT_STATEMENTS = ("Created connection", "Closed connection")


@dataclass
class SqlCount:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


class _Collector(logging.Handler):
    def __init__(self, into: SqlCount) -> None:
        super().__init__(level=logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg)
        if text.startswith(_NOT_STATEMENTS):
            return
        # "%s: %s" % (query, values): keep the query, never the values.
        args = record.args if isinstance(record.args, tuple) else ()
        self.into.statements.append(str(args[0]) if args and "%s" in text else text)


@asynccontextmanager
async def count_sql() -> AsyncIterator[SqlCount]:
    logger = logging.getLogger("tortoise.db_client")
    result = SqlCount()
    handler = _Collector(result)
    saved = (logger.level, logger.propagate)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield result
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
