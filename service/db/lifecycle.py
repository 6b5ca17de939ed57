"""Opening the database, applying migrations and checking they are current.

The committed migrations under ``service/db/migrations`` are the only way the schema
changes; ``generate_schemas`` is never used, so SQLite and PostgreSQL are built by
the very same steps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor

from service.settings import Settings, tortoise_config

APP_LABEL = "followup"


class MigrationsPending(RuntimeError):
    """The database is behind the committed migrations."""


async def open_database(database_url: str) -> None:
    """Connect Tortoise for the whole process.

    The global fallback makes the context created inside an ASGI lifespan visible to
    request handlers, which run in other tasks.
    """
    await Tortoise.init(
        config=tortoise_config(database_url),
        _enable_global_fallback=True,
    )


async def close_database() -> None:
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
