"""What ``/metrics`` reads on SQLite, kept by triggers (docs/decisions/0116); on
PostgreSQL this migration does nothing.

Counts by status: SQLite counts a status by stepping through its range of the status
index, one entry at a time (4.5 ms of a scrape at 100,000 messages, growing with the
table). Here a row per status holds its count, changed in the writer's own statement:
an inserted message adds one to its status, a deleted one takes one away, a status
change does both. SQLite has one writer at a time, so the few hot rows cost no
waiting; on PostgreSQL concurrent dispatchers would queue on them, and its parallel
``GROUP BY`` is within the goal.

Lateness: each sent message keeps its lateness in milliseconds (``late_ms``: sent
minus due, 0 at least, as the histogram counted it), written by a trigger whenever
``sent_at`` or ``send_at`` of a row with a ``sent_at`` changes, and carried by the
sent index the histogram reads; the histogram no longer parses two timestamps a row.
The column is SQLite's alone and not a field of the model: nothing else reads it.

Provider errors: their partial index leads with the code, so the scrape counts each
code's range of the last day (one seek a code) instead of grouping every error of the
day through a sorter (3 ms for 14,000 failed messages, 0.5 ms so).

Everything is filled from the messages already there, in the migration's
transaction."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_TABLE = "outbound_status_count"


def _add(r: str, sign: str) -> str:
    """Row ``r``'s status counted once more (sign "") or once less (sign "-")."""
    return (
        f"INSERT INTO {_TABLE} (status, n) VALUES ({r}.status, {sign}1)"
        f" ON CONFLICT (status) DO UPDATE SET n = {_TABLE}.n + excluded.n;"
    )


def _late(r: str) -> str:
    """Row ``r``'s lateness in whole milliseconds, 0 at least (NULL when not sent)."""
    return (
        f"CAST(ROUND(MAX(0, julianday({r}.sent_at) - julianday({r}.send_at)) * 86400000.0)"
        " AS INTEGER)"
    )


_SENT_COVER = (  # migration 0034's, and the lateness kept at its end
    "CREATE INDEX outbound_message_sent_cover ON outbound_message (sent_at,"
    " participant_id, kind, channel, status, fallback_reason, delivered_at, send_at{late})"
    " WHERE sent_at IS NOT NULL"
)


def _sqlite() -> list[str]:
    return [
        f"CREATE TABLE {_TABLE} (status VARCHAR(16) NOT NULL PRIMARY KEY, n INT NOT NULL)"
        " WITHOUT ROWID",
        f"INSERT INTO {_TABLE} (status, n)"
        " SELECT status, COUNT(*) FROM outbound_message GROUP BY status",
        "CREATE TRIGGER outbound_status_insert AFTER INSERT ON outbound_message FOR EACH ROW"
        f" BEGIN {_add('NEW', '')} END",
        "CREATE TRIGGER outbound_status_update AFTER UPDATE OF status ON outbound_message"
        " FOR EACH ROW WHEN OLD.status IS NOT NEW.status"
        f" BEGIN {_add('OLD', '-')} {_add('NEW', '')} END",
        "CREATE TRIGGER outbound_status_delete AFTER DELETE ON outbound_message FOR EACH ROW"
        f" BEGIN {_add('OLD', '-')} END",
        "DROP INDEX outbound_message_error_recent",
        "CREATE INDEX outbound_message_error_recent ON outbound_message (error_code,"
        " updated_at) WHERE error_code IS NOT NULL",
        "ALTER TABLE outbound_message ADD COLUMN late_ms INTEGER",
        f"UPDATE outbound_message SET late_ms = {_late('outbound_message')}"
        " WHERE sent_at IS NOT NULL",
        "DROP INDEX outbound_message_sent_cover",
        _SENT_COVER.format(late=", late_ms"),
        # Planned rows (no sent_at) are inserted and re-planned by the thousand: the
        # triggers' conditions let them pass without a second write.
        "CREATE TRIGGER outbound_late_insert AFTER INSERT ON outbound_message FOR EACH ROW"
        " WHEN NEW.sent_at IS NOT NULL"
        f" BEGIN UPDATE outbound_message SET late_ms = {_late('NEW')} WHERE id = NEW.id; END",
        "CREATE TRIGGER outbound_late_update AFTER UPDATE OF sent_at, send_at"
        " ON outbound_message FOR EACH ROW"
        " WHEN (NEW.sent_at IS NOT NULL OR OLD.sent_at IS NOT NULL)"
        " AND (OLD.sent_at IS NOT NEW.sent_at OR OLD.send_at IS NOT NEW.send_at)"
        f" BEGIN UPDATE outbound_message SET late_ms = {_late('NEW')} WHERE id = NEW.id; END",
    ]


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        return
    for statement in _sqlite():
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        return
    for name in ("status_insert", "status_update", "status_delete", "late_insert", "late_update"):
        await client.execute_script(f"DROP TRIGGER IF EXISTS outbound_{name}")
    for statement in (
        f"DROP TABLE IF EXISTS {_TABLE}",
        "DROP INDEX outbound_message_error_recent",
        "CREATE INDEX outbound_message_error_recent ON outbound_message (updated_at,"
        " error_code) WHERE error_code IS NOT NULL",
        "DROP INDEX outbound_message_sent_cover",
        _SENT_COVER.format(late=""),
        "ALTER TABLE outbound_message DROP COLUMN late_ms",
    ):
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("followup", "0041_dashboard_site_people")]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
