"""The committed migrations match the models, and build the schema on an empty database."""

from __future__ import annotations

import pytest
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from service.db.lifecycle import pending_migrations
from service.settings import tortoise_config


async def test_models_have_no_unmigrated_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tortoise_config(f"sqlite://{tmp_path / 'drift.sqlite3'}")
    apps_dict = config["apps"]
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps_dict).changes()  # type: ignore[arg-type]
    assert writers == [], (
        "models changed without a migration: run "
        "`tortoise -c service.db.config.TORTOISE_ORM makemigrations`"
    )


async def test_test_database_is_fully_migrated(db: None) -> None:
    assert await pending_migrations() == []


async def test_unmigrated_database_is_refused_unless_allowed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service.db.lifecycle import (
        MigrationsPending,
        close_database,
        ensure_migrated,
        open_database,
    )

    await open_database(f"sqlite://{tmp_path / 'empty.sqlite3'}")
    try:
        with pytest.raises(MigrationsPending, match="followup migrate"):
            await ensure_migrated(may_migrate=False)
        await ensure_migrated(may_migrate=True)
        assert await pending_migrations() == []
    finally:
        await close_database()
