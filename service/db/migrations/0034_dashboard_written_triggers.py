"""Triggers that append the participant's id to ``dashboard_written`` on every write to
the participant, its visit outcomes and its check-ins (docs/decisions/0103): in the
writer's own transaction, whatever code path writes, so the dashboard knows whose
summary row is stale. Appended rows, not a counter: writers of one participant never
wait for each other's row lock.

And two partial covering indexes for the overview's SMS counts and reminder lateness:
sent messages by ``sent_at`` and failed ones by ``updated_at``, a range of either read
without visiting the table (planned rows are in neither)."""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# (table, the column holding the participant's id)
_TABLES = (
    ("participant", "id"),
    ("visit_outcome", "participant_id"),
    ("checkin", "participant_id"),
)
_BUMP_SQLITE = "INSERT INTO dashboard_written (participant_id) SELECT {row}.{column} WHERE {when};"


def _sqlite() -> list[str]:
    statements = []
    for table, column in _TABLES:
        moved = f"OLD.{column} <> NEW.{column}"  # an update names the old id only if it moved
        for event, rows in (
            ("INSERT", (("NEW", "1 = 1"),)),
            ("UPDATE", (("OLD", moved), ("NEW", "1 = 1"))),
            ("DELETE", (("OLD", "1 = 1"),)),
        ):
            body = " ".join(_BUMP_SQLITE.format(row=r, column=column, when=w) for r, w in rows)
            statements.append(
                f"CREATE TRIGGER dashboard_written_{table}_{event.lower()} AFTER {event} ON {table}"
                f" FOR EACH ROW BEGIN {body} END"
            )
    return statements


def _postgres() -> list[str]:
    statements = []
    for table, column in _TABLES:
        bump = "INSERT INTO dashboard_written (participant_id) VALUES ({row}.{column});"
        statements.append(
            f"CREATE FUNCTION dashboard_written_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            "  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD."
            + column
            + " IS DISTINCT FROM NEW."
            + column
            + ") THEN "
            + bump.format(row="OLD", column=column)
            + " END IF;\n"
            "  IF TG_OP IN ('INSERT', 'UPDATE') THEN "
            + bump.format(row="NEW", column=column)
            + " END IF;\n"
            "  RETURN NULL;\n"
            "END $$"
        )
        statements.append(
            f"CREATE TRIGGER dashboard_written_{table} AFTER INSERT OR UPDATE OR DELETE"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION dashboard_written_{table}()"
        )
    return statements


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in _postgres() if postgres else _sqlite():
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for table, _ in _TABLES:
        if postgres:
            await client.execute_script(
                f"DROP TRIGGER IF EXISTS dashboard_written_{table} ON {table};"
                f" DROP FUNCTION IF EXISTS dashboard_written_{table}()"
            )
        else:
            for event in ("insert", "update", "delete"):
                await client.execute_script(
                    f"DROP TRIGGER IF EXISTS dashboard_written_{table}_{event}"
                )


class Migration(migrations.Migration):
    dependencies = [("followup", "0033_dashboard_summary")]

    initial = False

    operations = [
        ops.RunPython(_create, _drop),
        ops.RunSQL(
            "CREATE INDEX outbound_message_sent_cover ON outbound_message (sent_at,"
            " participant_id, kind, channel, status, fallback_reason, delivered_at, send_at)"
            " WHERE sent_at IS NOT NULL",
            "DROP INDEX outbound_message_sent_cover",
        ),
        ops.RunSQL(
            "CREATE INDEX outbound_message_failed_cover ON outbound_message (status, updated_at,"
            " participant_id) WHERE status = 'failed'",
            "DROP INDEX outbound_message_failed_cover",
        ),
    ]
