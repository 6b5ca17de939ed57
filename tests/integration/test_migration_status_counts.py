"""Migration 0042 on SQLite: the kept counts by status and each sent message's lateness
start from the messages already there, and rolling it back leaves the schema of 0041
(no table, no triggers, no column, the indexes as they were)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import connections
from tortoise.migrations.executor import MigrationTarget

from service.db import lifecycle

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
BEFORE = MigrationTarget("followup", "0041_dashboard_site_people")


async def _schema() -> dict[str, str]:
    """The parts of the schema 0042 touches: its objects, the two indexes it makes
    again, and the message table's columns."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE 'outbound_status%'"
        " OR name LIKE 'outbound_late%' OR name = 'outbound_message_error_recent'"
        " OR name = 'outbound_message_sent_cover'"
    )
    columns = await conn.execute_query_dict("PRAGMA table_info(outbound_message)")
    return {str(r["name"]): str(r["sql"]) for r in rows} | {
        "columns": ",".join(str(c["name"]) for c in columns)
    }


async def test_counts_start_from_the_rows_there_and_roll_back(tmp_path: Path) -> None:
    await lifecycle.open_database(f"sqlite://{tmp_path / 'm.sqlite3'}")
    try:
        await lifecycle._executor().migrate([BEFORE])
        conn = connections.get("default")
        await conn.execute_many(  # raw SQL: the ORM's models stay bound to the suite's database
            "INSERT INTO outbound_message (kind, purpose, occurrence, dedupe_key, message_key,"
            " params, language, send_at, status, attempts, error_code, sent_at, created_at,"
            " updated_at) VALUES ('reminder', 'reminder:test', ?, ?,"
            " 'reminder.clinic.week_before', '{}', 'es', ?, ?, 0, ?, ?, ?, ?)",
            [
                [str(n), f"test:{n}", when, status, code, sent, when, when]
                for n in range(10)
                for when in [(NOW + timedelta(minutes=n)).isoformat(" ")]
                for status, code in [(("planned", None), ("sent", None), ("failed", 30003))[n % 3]]
                for sent in [None if n % 3 == 0 else f"{NOW + timedelta(minutes=n, seconds=n)}"]
            ],
        )
        before = await _schema()
        assert set(before) == {
            "outbound_message_error_recent",
            "outbound_message_sent_cover",
            "columns",
        }

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
        late = await conn.execute_query_dict(
            "SELECT occurrence, late_ms FROM outbound_message ORDER BY id"
        )
        assert [r["late_ms"] for r in late] == [None if n % 3 == 0 else n * 1000 for n in range(10)]

        await lifecycle._executor().migrate([BEFORE])
        assert await _schema() == before
        await lifecycle.apply_migrations()
        assert len(await _schema()) == 9  # a table, five triggers, two indexes, the columns
    finally:
        await lifecycle.close_database()
