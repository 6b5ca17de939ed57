"""Opening the database, applying migrations and checking they are current.

The committed migrations under ``service/db/migrations`` are the only way the schema
changes; ``generate_schemas`` is never used, so SQLite and PostgreSQL are built by
the very same steps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor

from service.db.wal_checkpoints import AUTOMATIC_FROM_PAGES, WalCheckpointer
from service.settings import Settings, tortoise_config

APP_LABEL = "followup"


class MigrationsPending(RuntimeError):
    """The database is behind the committed migrations."""


class DatabaseUnusable(RuntimeError):
    """The embedded database file cannot be opened for writing (read-only file or
    folder, missing folder): start-up stops with this one line."""


def check_sqlite_writable(path: Path) -> None:
    """Open the file, switch it to WAL and take the write lock, then let go.

    Why before Tortoise: when ``PRAGMA journal_mode=WAL`` fails on a read-only file
    or folder, Tortoise's SQLite client keeps its connection lock and every later
    query waits on it for ever, so ``migrate`` and ``serve`` hung with no output.
    """
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # the -wal and -shm files: the folder
            conn.execute("BEGIN IMMEDIATE")  # the write lock: the file
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        why = str(exc)
        if not os.access(path.parent, os.W_OK):
            why += f" (the folder {path.parent} is read-only)"
        elif path.exists() and not os.access(path, os.W_OK):
            why += " (the file is read-only)"
        raise DatabaseUnusable(f"the database {path} cannot be written: {why}") from None


# PostgreSQL: a partitioned server answers nothing, and asyncpg would wait for ever.
# A new connection gives up after CONNECT_TIMEOUT_S and a statement after
# COMMAND_TIMEOUT_S (the request then answers 503, see service.db.faults). Both can be
# set in DATABASE_URL (``?timeout=5&command_timeout=30``).
CONNECT_TIMEOUT_S = 5
COMMAND_TIMEOUT_S = 30.0


def _sqlite_file(database_url: str) -> Path | None:
    """The database file of a ``sqlite://`` URL (None: in memory, or not SQLite)."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _connection_config(database_url: str) -> dict[str, Any] | str:
    if database_url.startswith("sqlite://"):
        sqlite: dict[str, Any] = expand_db_url(database_url)
        sqlite["engine"] = "service.db.sqlite_client"  # counts a statement's own rows
        if _sqlite_file(database_url) is not None:  # its checkpoints: WalCheckpointer
            sqlite["credentials"]["wal_autocheckpoint"] = AUTOMATIC_FROM_PAGES
        return sqlite
    if not database_url.startswith(("postgres://", "asyncpg://")):
        return database_url
    config: dict[str, Any] = expand_db_url(database_url)
    credentials = config["credentials"]
    credentials.setdefault("timeout", CONNECT_TIMEOUT_S)
    credentials["command_timeout"] = float(credentials.get("command_timeout", COMMAND_TIMEOUT_S))
    return config


_checkpointer: WalCheckpointer | None = None  # the open SQLite file's (one a process)


def _stop_checkpointer() -> None:
    global _checkpointer
    if _checkpointer is not None:
        _checkpointer.stop()
        _checkpointer = None


def wal_checkpointer() -> WalCheckpointer | None:
    """The open SQLite file's checkpointer (None on PostgreSQL or in memory)."""
    return _checkpointer


async def open_database(database_url: str) -> None:
    """Connect Tortoise for the whole process.

    The global fallback makes the context created inside an ASGI lifespan visible to
    request handlers, which run in other tasks.
    """
    # asyncpg's pool logs a traceback each time it fails to reconnect during an outage;
    # service.db.faults says it once, with the requests it refused.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    path = _sqlite_file(database_url)
    if path is not None:
        check_sqlite_writable(path)
    _stop_checkpointer()
    config = tortoise_config(database_url)
    config["connections"] = {"default": _connection_config(database_url)}
    await Tortoise.init(config=config, _enable_global_fallback=True)
    if path is not None:
        global _checkpointer
        _checkpointer = WalCheckpointer(path)
        _checkpointer.start()


async def close_database() -> None:
    _stop_checkpointer()
    await Tortoise.close_connections()


def database_dialect() -> str:
    """``postgres`` or ``sqlite``: the open database's dialect."""
    return str(get_connection("default").capabilities.dialect)


async def database_answers() -> None:
    """One round trip (``SELECT 1``); raises when the database does not answer."""
    await get_connection("default").execute_query("SELECT 1")


def _executor() -> MigrationExecutor:
    apps_config: dict[str, dict[str, Any]] = {
        APP_LABEL: {
            "models": ["service.db.models", "service.db.edc_models"],
            "default_connection": "default",
            "migrations": "service.db.migrations",
        }
    }
    return MigrationExecutor(get_connection("default"), apps_config)


async def pending_migrations() -> list[str]:
    """Names of committed migrations not yet applied to the open database."""
    steps = await _executor().plan()
    return [step.migration.name for step in steps if not step.backward]


async def apply_migrations() -> list[str]:
    """Apply every pending migration; returns the names applied."""
    pending = await pending_migrations()
    if pending:
        await _executor().migrate()
    return pending


async def ensure_migrated(*, may_migrate: bool) -> None:
    """Refuse to run against a schema older than the code, unless allowed to fix it."""
    pending = await pending_migrations()
    if not pending:
        return
    if may_migrate:
        await _executor().migrate()
        return
    raise MigrationsPending(
        f"the database has {len(pending)} unapplied migration(s) "
        f"({', '.join(pending)}); run `followup migrate` first"
    )


async def with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` with the database open (a command-line command's whole life); an
    embedded SQLite file gets its folder first."""
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite://")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    await open_database(settings.database_url)
    try:
        return await work()
    finally:
        await close_database()
