"""Closed days of SMS figures per site (docs/decisions/0110), and the triggers that
keep them true: a write to a message that changes what a day counted (its sending,
its delivery, its failure, its channel or fallback, whose message it is) deletes
that day's row for the message's site, old and new, in the writer's own transaction.
The overview computes a missing day again. A participant moving to another site
deletes both sites' days.

The trigger fires only when a counted fact changes: claiming, rescheduling or
cancelling a planned message does not. When it fires, it reads the participant's
site and a few dozen rows of that site's days. On PostgreSQL an insert or a delete
of counted messages (bulk loads) empties the sites' kept days once per statement.

And partial covering indexes for the days' delivered and failed counts."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# How a row counts, by family: the instant it is counted at, the rows that count
# there, and the columns whose change can change that count. Sent messages (and of
# them: by WhatsApp, with a fallback, visit reminders with their lateness) by
# ``sent_at``; delivered ones by ``delivered_at``; failed ones by ``updated_at``. A
# receipt changes the delivered family only: it leaves the day of the sending kept.
_FAMILIES = (
    (
        "sent",
        "sent_at",
        "{r}.sent_at IS NOT NULL",
        ("sent_at", "channel", "fallback_reason", "kind", "send_at", "participant_id"),
    ),
    ("delivered", "delivered_at", "{r}.status = 'delivered'", ("delivered_at", "participant_id")),
    ("failed", "updated_at", "{r}.status = 'failed'", ("updated_at", "participant_id")),
)


def _drop_day(r: str, column: str, counts: str) -> str:
    """Delete the day holding row ``r``'s instant, if the row counts there: one seek
    on the (site, first instant) key, a statement per instant. On SQLite a receipt's
    one-row transaction took 127 us with the triggers and 122-126 us without."""
    return (
        f"DELETE FROM sms_day WHERE {counts.format(r=r)}"
        f" AND site_id = (SELECT site_id FROM participant WHERE id = {r}.participant_id)"
        f" AND starts_at <= {r}.{column} AND ends_at > {r}.{column};"
    )


def _family_changed(counts: str, columns: tuple[str, ...], distinct: str) -> str:
    old, new = counts.format(r="OLD"), counts.format(r="NEW")
    moved = " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)
    return f"(({old} OR {new}) AND (({old}) {distinct} ({new}) OR {moved}))"


def _counted(r: str) -> str:
    return f"({r}.sent_at IS NOT NULL OR {r}.status IN ('delivered', 'failed'))"


def _every_day(r: str) -> str:
    """A row inserted or deleted: the days of each of its counted instants."""
    return " ".join(_drop_day(r, column, counts) for _, column, counts, _ in _FAMILIES)


def _sqlite() -> list[str]:
    updates = [
        f"CREATE TRIGGER sms_day_update_{name} AFTER UPDATE ON outbound_message FOR EACH ROW"
        f" WHEN {_family_changed(counts, columns, 'IS NOT')}"
        f" BEGIN {_drop_day('OLD', column, counts)} {_drop_day('NEW', column, counts)} END"
        for name, column, counts, columns in _FAMILIES
    ]
    return [
        "CREATE TRIGGER sms_day_insert AFTER INSERT ON outbound_message FOR EACH ROW"
        f" WHEN {_counted('NEW')} BEGIN {_every_day('NEW')} END",
        *updates,
        "CREATE TRIGGER sms_day_delete AFTER DELETE ON outbound_message FOR EACH ROW"
        f" WHEN {_counted('OLD')} BEGIN {_every_day('OLD')} END",
        "CREATE TRIGGER sms_day_site AFTER UPDATE OF site_id ON participant FOR EACH ROW"
        " WHEN OLD.site_id IS NOT NEW.site_id"
        " BEGIN DELETE FROM sms_day WHERE site_id IN (OLD.site_id, NEW.site_id); END",
    ]


def _postgres() -> list[str]:
    """An update fires per row, only when a counted fact changed (the trigger's
    ``WHEN``, checked without calling the function). An insert or a delete fires once
    per statement and empties the kept days of the sites whose counted messages it
    wrote: a bulk load of a million sent messages, one row trigger each, ran past the
    statement timeout, and inserting or deleting sent messages is otherwise rare (the
    outbox inserts planned rows and updates them)."""
    counted = _counted("r")
    touched = (  # the outbox's inserts of planned rows only look through their rows
        "IF EXISTS (SELECT 1 FROM {rows} r WHERE " + counted + ") THEN"
        " DELETE FROM sms_day WHERE site_id IN (SELECT p.site_id FROM {rows} r"
        " JOIN participant p ON p.id = r.participant_id WHERE " + counted + "); END IF;"
    )
    changed = [
        (_family_changed(counts, columns, "IS DISTINCT FROM"), column, counts)
        for _, column, counts, columns in _FAMILIES
    ]
    body = " ".join(
        f"IF {when} THEN {_drop_day('OLD', column, counts)} {_drop_day('NEW', column, counts)}"
        " END IF;"
        for when, column, counts in changed
    )
    statements = [
        "CREATE FUNCTION sms_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN {body} RETURN NULL; END $$",
        "CREATE TRIGGER sms_day_update AFTER UPDATE ON outbound_message FOR EACH ROW"
        f" WHEN ({' OR '.join(when for when, _, _ in changed)})"
        " EXECUTE FUNCTION sms_day_changed()",
    ]
    for event, name, table in (("INSERT", "added", "NEW"), ("DELETE", "removed", "OLD")):
        statements += [
            f"CREATE FUNCTION sms_day_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN {touched.format(rows=name)} RETURN NULL; END $$",
            f"CREATE TRIGGER sms_day_{name} AFTER {event} ON outbound_message"
            f" REFERENCING {table} TABLE AS {name} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION sms_day_{name}()",
        ]
    return [
        *statements,
        "CREATE FUNCTION sms_day_site() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN DELETE FROM sms_day WHERE site_id IN (OLD.site_id, NEW.site_id);"
        " RETURN NULL; END $$",
        "CREATE TRIGGER sms_day_site AFTER UPDATE OF site_id ON participant FOR EACH ROW"
        " WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id) EXECUTE FUNCTION sms_day_site()",
    ]


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in _postgres() if postgres else _sqlite():
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for trigger, function in (
            ("sms_day_update ON outbound_message", "sms_day_changed"),
            ("sms_day_added ON outbound_message", "sms_day_added"),
            ("sms_day_removed ON outbound_message", "sms_day_removed"),
            ("sms_day_site ON participant", "sms_day_site"),
        ):
            await client.execute_script(
                f"DROP TRIGGER IF EXISTS {trigger}; DROP FUNCTION IF EXISTS {function}()"
            )
    else:
        for name in ("insert", "delete", "site", *(f"update_{f[0]}" for f in _FAMILIES)):
            await client.execute_script(f"DROP TRIGGER IF EXISTS sms_day_{name}")


def _indexes(postgres: bool) -> list[str]:
    """Delivered and failed messages by the instant they are counted at. SQLite needs
    the status first to prefer this index to the plain one on status; PostgreSQL drops
    a column that the index's own condition fixes from the scan's bounds, so there the
    status first made every range read the whole index (137 ms for a day of 10,000
    deliveries): its indexes start with the instant. The failed index of migration
    0034 is made again so on PostgreSQL."""
    if not postgres:
        return [
            "CREATE INDEX outbound_message_delivered_cover ON outbound_message"
            " (status, delivered_at, participant_id) WHERE status = 'delivered'"
        ]
    return [
        "CREATE INDEX outbound_message_delivered_cover ON outbound_message"
        " (delivered_at, participant_id) WHERE status = 'delivered'",
        "DROP INDEX outbound_message_failed_cover",
        "CREATE INDEX outbound_message_failed_cover ON outbound_message"
        " (updated_at, participant_id) WHERE status = 'failed'",
    ]


async def _create_indexes(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    for statement in _indexes(client.capabilities.dialect == "postgres"):
        await client.execute_script(statement)


async def _drop_indexes(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    await client.execute_script("DROP INDEX outbound_message_delivered_cover")
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "DROP INDEX outbound_message_failed_cover;"
            " CREATE INDEX outbound_message_failed_cover ON outbound_message"
            " (status, updated_at, participant_id) WHERE status = 'failed'"
        )


class Migration(migrations.Migration):
    dependencies = [("followup", "0036_provider_errors_index")]

    initial = False

    operations = [
        ops.CreateModel(
            name="SmsDay",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("site_id", fields.CharField(max_length=16)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("computed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("sent", fields.IntField()),
                ("delivered", fields.IntField()),
                ("failed", fields.IntField()),
                ("whatsapp", fields.IntField()),
                ("fallback", fields.IntField()),
                ("lateness", fields.TextField(unique=False)),
            ],
            options={
                "table": "sms_day",
                "app": "followup",
                "unique_together": (("site_id", "starts_at"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.RunPython(_create, _drop),
        ops.RunPython(_create_indexes, _drop_indexes),
    ]
