"""How many of a site's participants are in each state now, kept by triggers on
``participant`` (docs/decisions/0117): an inserted participant adds one to its
state's row, a deleted one takes one away, a change of site, status, opt-out or
carrier block moves one from the old state's row to the new one, in the writer's
own transaction. The overview reads a site's few rows instead of counting every
participant. And two indexes for the counts of a month's enrolments and withdrawals.

Row triggers on both databases: participants are written one at a time, and rarely.
On PostgreSQL a move takes its two rows' locks in key order, so two moves the other
way round do not deadlock. Filled from the participants already there."""

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_KEY = ("site_id", "status", "opted_out", "blocked")
_ADD = (
    "INSERT INTO dashboard_site_people (site_id, status, opted_out, blocked, k) {rows}"
    " ON CONFLICT (site_id, status, opted_out, blocked)"
    " DO UPDATE SET k = dashboard_site_people.k + excluded.k"
)
_WATCHED = ("site_id", "status", "opted_out", "sms_blocked_code")


def _state(r: str, sign: str) -> str:
    """Participant ``r`` added (sign "") to its state's row, or taken away ("-")."""
    values = f"{r}.site_id, {r}.status, {r}.opted_out, {r}.sms_blocked_code IS NOT NULL"
    return _ADD.format(rows=f"VALUES ({values}, {sign}1)") + ";"


def _moved(distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in _WATCHED)


def _sqlite() -> list[str]:
    watched = ", ".join(_WATCHED)
    return [
        "CREATE TRIGGER dashboard_people_insert AFTER INSERT ON participant FOR EACH ROW"
        f" BEGIN {_state('NEW', '')} END",
        "CREATE TRIGGER dashboard_people_delete AFTER DELETE ON participant FOR EACH ROW"
        f" BEGIN {_state('OLD', '-')} END",
        f"CREATE TRIGGER dashboard_people_update AFTER UPDATE OF {watched} ON participant"
        f" FOR EACH ROW WHEN {_moved('IS NOT')}"
        f" BEGIN {_state('OLD', '-')} {_state('NEW', '')} END",
    ]


def _postgres() -> list[str]:
    def key(r: str) -> str:
        return f"ROW({r}.site_id, {r}.status, {r}.opted_out, {r}.sms_blocked_code IS NOT NULL)"

    watched = ", ".join(_WATCHED)
    return [
        "CREATE FUNCTION dashboard_people() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f" IF TG_OP = 'INSERT' THEN {_state('NEW', '')}\n"
        f" ELSIF TG_OP = 'DELETE' THEN {_state('OLD', '-')}\n"
        f" ELSIF {key('OLD')} < {key('NEW')} THEN {_state('OLD', '-')} {_state('NEW', '')}\n"
        f" ELSE {_state('NEW', '')} {_state('OLD', '-')}\n"
        " END IF;\n"
        " RETURN NULL;\n"
        "END $$",
        "CREATE TRIGGER dashboard_people_added AFTER INSERT OR DELETE ON participant"
        " FOR EACH ROW EXECUTE FUNCTION dashboard_people()",
        f"CREATE TRIGGER dashboard_people_moved AFTER UPDATE OF {watched} ON participant"
        f" FOR EACH ROW WHEN ({_moved('IS DISTINCT FROM')})"
        " EXECUTE FUNCTION dashboard_people()",
    ]


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    # UPSERT's SELECT needs a WHERE on SQLite
    fill = _ADD.format(
        rows="SELECT site_id, status, opted_out, sms_blocked_code IS NOT NULL, COUNT(*)"
        " FROM participant WHERE 1 = 1 GROUP BY 1, 2, 3, 4"
    )
    for statement in [fill, *(_postgres() if postgres else _sqlite())]:
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "DROP TRIGGER IF EXISTS dashboard_people_added ON participant;"
            " DROP TRIGGER IF EXISTS dashboard_people_moved ON participant;"
            " DROP FUNCTION IF EXISTS dashboard_people()"
        )
    else:
        for name in ("insert", "delete", "update"):
            await client.execute_script(f"DROP TRIGGER IF EXISTS dashboard_people_{name}")


class Migration(migrations.Migration):
    dependencies = [("followup", "0040_outbound_time_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DashboardSitePeople",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("site_id", fields.CharField(max_length=16)),
                ("status", fields.CharField(max_length=16)),
                ("opted_out", fields.BooleanField()),
                ("blocked", fields.BooleanField()),
                ("k", fields.IntField()),
            ],
            options={
                "table": "dashboard_site_people",
                "app": "followup",
                "unique_together": (_KEY,),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddIndex(model_name="Participant", index=Index(fields=["site_id", "created_at"])),
        ops.AddIndex(model_name="Participant", index=Index(fields=["site_id", "withdrawn_at"])),
        ops.RunPython(_create, _drop),
    ]
