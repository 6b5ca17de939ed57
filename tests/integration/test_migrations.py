"""The committed migrations match the models, and build the schema on an empty database."""

from __future__ import annotations

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
