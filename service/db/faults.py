"""Which database failures are the database being away, full or read-only.

Why: while PostgreSQL is restarted, partitioned or refusing connections, or the
embedded SQLite file's disk is full or read-only, every request that touches the
database fails the same way. That is an outage of a neighbour, not a bug of ours: the
caller should hear 503 (or 507, disk full) with ``Retry-After`` and try again, and
the log should say once that the outage began, not print a traceback per request.

``database_fault`` classifies an exception (its causes and contexts included);
``OUTAGES`` remembers the current outage of this process for the log, readiness and
the metrics. An outage is over when no request met it for ``QUIET_S``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from tortoise.exceptions import DBConnectionError

__all__ = ["OUTAGES", "DatabaseFault", "Outage", "Outages", "database_fault"]

log = logging.getLogger("service.database")

QUIET_S = 30.0  # no fault met for this long: the outage is over


class DatabaseFault(StrEnum):
    UNAVAILABLE = "unavailable"  # unreachable, reset, refused, timed out, locked
    FULL = "full"  # SQLite: "database or disk is full"
    READ_ONLY = "read_only"  # SQLite: the file or its folder cannot be written

    @property
    def status_code(self) -> int:
        return 507 if self is DatabaseFault.FULL else 503

    @property
    def retry_after_s(self) -> int:
        return 30 if self is DatabaseFault.UNAVAILABLE else 60


_SQLITE_WORDS = (
    ("database or disk is full", DatabaseFault.FULL),
    ("readonly database", DatabaseFault.READ_ONLY),
    ("read-only", DatabaseFault.READ_ONLY),
    ("unable to open database", DatabaseFault.UNAVAILABLE),
    ("disk i/o error", DatabaseFault.UNAVAILABLE),
    ("database is locked", DatabaseFault.UNAVAILABLE),
)


def _postgres_connection_errors() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg ships with the service
        return ()
    return (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
    )


_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    DBConnectionError,
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    *_postgres_connection_errors(),
)


def _one(exc: BaseException) -> DatabaseFault | None:
    if isinstance(exc, _CONNECTION_ERRORS):
        return DatabaseFault.UNAVAILABLE
    if isinstance(exc, sqlite3.OperationalError | OSError) or type(exc).__name__ == (
        "OperationalError"
    ):
        text = str(exc).lower()
        for words, fault in _SQLITE_WORDS:
            if words in text:
                return fault
    return None


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The database fault behind ``exc``, or None when it is something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fault = _one(current)
        if fault is not None:
            return fault
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True, slots=True)
class Outage:
    fault: DatabaseFault
    cause: str  # the exception's type, e.g. ConnectionRefusedError (no data in it)
    since: float  # time.time() of the first request that met it
    refused: int  # requests answered 503/507 during it


class Outages:
    """The current database outage of this process (thread-safe, never raises)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Outage | None = None
        self._last_seen = 0.0
        self.refused_total: dict[DatabaseFault, int] = {}

    def met(self, fault: DatabaseFault, exc: BaseException) -> None:
        """A request met ``fault``: log the first of an outage, count every one."""
        now = time.time()
        with self._lock:
            self.refused_total[fault] = self.refused_total.get(fault, 0) + 1
            current = self._current
            fresh = current is None or current.fault != fault or now - self._last_seen > QUIET_S
            self._last_seen = now
            if fresh:
                cause = type(exc).__name__
                self._current = Outage(fault, cause, now, 1)
            else:
                assert current is not None
                self._current = Outage(fault, current.cause, current.since, current.refused + 1)
        if fresh:
            log.error(
                "database %s (%s: %s): requests answered %d with Retry-After until it recovers",
                fault.value.replace("_", "-"),
                type(exc).__name__,
                _cause_text(exc),
                fault.status_code,
            )

    def writes_work(self) -> None:
        """A write just committed: a full or read-only disk is writable again."""
        with self._lock:
            current = self._current
            if current is None or current.fault is DatabaseFault.UNAVAILABLE:
                return
            self._current = None
        log.warning("database writable again after %d refused request(s)", current.refused)

    def storage_problem(self) -> str | None:
        """For readiness: the disk is full or read-only (writes fail though reads work)."""
        outage = self.current()
        if outage is None or outage.fault is DatabaseFault.UNAVAILABLE:
            return None
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(outage.since))
        return f"{outage.fault.value.replace('_', '-')}: writes refused since {since}"

    def current(self) -> Outage | None:
        """The outage under way, or None once ``QUIET_S`` passed without one."""
        with self._lock:
            if self._current is not None and time.time() - self._last_seen > QUIET_S:
                self._current = None
            return self._current


def _cause_text(exc: BaseException) -> str:
    """The driver's first line ("database or disk is full", "Connect call failed"):
    only ever called for a fault classified above, none of which carries values."""
    lines = str(exc).splitlines()
    return lines[0][:120] if lines else "no answer"


OUTAGES = Outages()
