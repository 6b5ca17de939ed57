"""Migration 0042 on SQLite: the kept counts by status start from the messages already
there, and rolling it back leaves the schema of 0040 (no table, no triggers, the
provider errors' index by instant again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import connections
from tortoise.migrations.executor import MigrationTarget

from service.db import lifecycle

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
BEFORE = MigrationTarget("followup", "0040_outbound_time_indexes")


async def _schema() -> dict[str, str]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE 'outbound_status%'"
        " OR name = 'outbound_message_error_recent'"
    )
    return {str(r["name"]): str(r["sql"]) for r in rows}


async def test_counts_start_from_the_rows_there_and_roll_back(tmp_path: Path) -> None:
    await lifecycle.open_database(f"sqlite://{tmp_path / 'm.sqlite3'}")
    try:
        await lifecycle._executor().migrate([BEFORE])
        conn = connections.get("default")
        await conn.execute_many(  # raw SQL: the ORM's models stay bound to the suite's database
            "INSERT INTO outbound_message (kind, purpose, occurrence, dedupe_key, message_key,"
            " params, language, send_at, status, attempts, error_code, created_at, updated_at)"
            " VALUES ('reminder', 'reminder:test', ?, ?, 'reminder.clinic.week_before', '{}',"
            " 'es', ?, ?, 0, ?, ?, ?)",
            [
                [str(n), f"test:{n}", when, status, code, when, when]
                for n in range(10)
                for when in [(NOW + timedelta(minutes=n)).isoformat(" ")]
                for status, code in [(("planned", None), ("sent", None), ("failed", 30003))[n % 3]]
            ],
        )
        before = await _schema()
        assert set(before) == {"outbound_message_error_recent"}

        await lifecycle.apply_migrations()
        kept = await conn.execute_query_dict("SELECT status, n FROM outbound_status_count")
        assert {r["status"]: r["n"] for r in kept} == {"planned": 4, "sent": 3, "failed": 3}
        await conn.execute_query(
            "UPDATE outbound_message SET status = 'cancelled' WHERE status = 'planned'"
        )
        kept = await conn.execute_query_dict("SELECT status, n FROM outbound_status_count")
        assert {r["status"]: r["n"] for r in kept} == {
            "planned": 0,
            "sent": 3,
            "failed": 3,
            "cancelled": 4,
        }
        assert "(error_code, updated_at)" in (await _schema())["outbound_message_error_recent"]

        await lifecycle._executor().migrate([BEFORE])
        assert await _schema() == before
        await lifecycle.apply_migrations()
        assert len(await _schema()) == 5  # the table, its three triggers, the index
    finally:
        await lifecycle.close_database()
