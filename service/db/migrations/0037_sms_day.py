"""Closed days of SMS figures per site (docs/decisions/0110), and the triggers that
keep them true: a write to a message that changes what a day counted (its sending,
its delivery, its failure, its channel or fallback, whose message it is) deletes
that day's row for the message's site, old and new, in the writer's own transaction.
The overview computes a missing day again. A participant moving to another site
deletes both sites' days.

The trigger fires only when a counted fact changes: claiming, rescheduling or
cancelling a planned message does not. When it fires, it reads the participant's
site and a few dozen rows of that site's days.

And a partial covering index for the days' delivered counts (by ``delivered_at``)."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# The instants a row is counted at, as (column, condition): sent by ``sent_at``,
# delivered by ``delivered_at``, failed by ``updated_at`` (as the overview counts).
_COUNTED = (
    ("sent_at", "1 = 1"),
    ("delivered_at", "{r}.status = 'delivered'"),
    ("updated_at", "{r}.status = 'failed'"),
)
# Columns whose change can change a count (updated_at only for a failed row).
_FACTS = (
    *("sent_at", "delivered_at", "status", "channel", "fallback_reason", "kind", "send_at"),
    "participant_id",
)


def _hits(r: str) -> str:
    """The days holding one of row ``r``'s counted instants."""
    return " OR ".join(
        f"({when.format(r=r)} AND starts_at <= {r}.{column} AND ends_at > {r}.{column})"
        for column, when in _COUNTED
    )


def _counted(r: str) -> str:
    return f"({r}.sent_at IS NOT NULL OR {r}.status IN ('delivered', 'failed'))"


def _changed(distinct: str) -> str:
    facts = " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in _FACTS)
    failed = f"((OLD.status = 'failed' OR NEW.status = 'failed') AND OLD.updated_at {distinct} NEW.updated_at)"
    return f"({_counted('OLD')} OR {_counted('NEW')}) AND ({facts} OR {failed})"


def _delete(rows: tuple[str, ...]) -> str:
    sites = ", ".join(f"{r}.participant_id" for r in rows)
    hits = " OR ".join(_hits(r) for r in rows)
    return (
        "DELETE FROM sms_day WHERE site_id IN"
        f" (SELECT site_id FROM participant WHERE id IN ({sites})) AND ({hits});"
    )


def _sqlite() -> list[str]:
    events = (
        ("insert", "INSERT", _counted("NEW"), ("NEW",)),
        ("update", "UPDATE", _changed("IS NOT"), ("OLD", "NEW")),
        ("delete", "DELETE", _counted("OLD"), ("OLD",)),
    )
    return [
        *(
            f"CREATE TRIGGER sms_day_{name} AFTER {event} ON outbound_message FOR EACH ROW"
            f" WHEN {when} BEGIN {_delete(rows)} END"
            for name, event, when, rows in events
        ),
        "CREATE TRIGGER sms_day_site AFTER UPDATE OF site_id ON participant FOR EACH ROW"
        " WHEN OLD.site_id IS NOT NEW.site_id"
        " BEGIN DELETE FROM sms_day WHERE site_id IN (OLD.site_id, NEW.site_id); END",
    ]


def _postgres() -> list[str]:
    return [
        "CREATE FUNCTION sms_day_outbound() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP = 'INSERT' AND {_counted('NEW')} THEN {_delete(('NEW',))}\n"
        f"  ELSIF TG_OP = 'DELETE' AND {_counted('OLD')} THEN {_delete(('OLD',))}\n"
        f"  ELSIF TG_OP = 'UPDATE' AND {_changed('IS DISTINCT FROM')} THEN"
        f" {_delete(('OLD', 'NEW'))}\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$",
        "CREATE TRIGGER sms_day_outbound AFTER INSERT OR UPDATE OR DELETE ON outbound_message"
        " FOR EACH ROW EXECUTE FUNCTION sms_day_outbound()",
        "CREATE FUNCTION sms_day_site() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF OLD.site_id IS DISTINCT FROM NEW.site_id THEN"
        " DELETE FROM sms_day WHERE site_id IN (OLD.site_id, NEW.site_id); END IF;\n"
        "  RETURN NULL;\n"
        "END $$",
        "CREATE TRIGGER sms_day_site AFTER UPDATE OF site_id ON participant"
        " FOR EACH ROW EXECUTE FUNCTION sms_day_site()",
    ]


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in _postgres() if postgres else _sqlite():
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "DROP TRIGGER IF EXISTS sms_day_outbound ON outbound_message;"
            " DROP FUNCTION IF EXISTS sms_day_outbound();"
            " DROP TRIGGER IF EXISTS sms_day_site ON participant;"
            " DROP FUNCTION IF EXISTS sms_day_site()"
        )
    else:
        for name in ("insert", "update", "delete", "site"):
            await client.execute_script(f"DROP TRIGGER IF EXISTS sms_day_{name}")


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
        ops.RunSQL(
            "CREATE INDEX outbound_message_delivered_cover ON outbound_message (status, delivered_at,"
            " participant_id) WHERE status = 'delivered'",
            "DROP INDEX outbound_message_delivered_cover",
        ),
    ]
