"""The participant list read in index order, and the summary rows' refresh by index
(docs/decisions/0111).

``dashboard_summary`` gets the participant's study id and an index per list order
(each ends in the study id, as every order does), so a page is the first rows of an
index rather than every row sorted; on PostgreSQL its study and site ids are compared
in byte order (``COLLATE "C"``), as the list orders them, so those indexes serve it.
The stale rows are found by three indexes (``valid_until``, ``as_of``, ``fingerprint``)
instead of a scan. ``dashboard_summary_gap`` names the sites that may have participants
without a row; every site gets one here (the rows are dropped: they lack the study id),
so the first read of each site counts its participants again.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_INDEXES = (
    ("dashboard_summary_valid_until", "valid_until"),
    ("dashboard_summary_as_of", "as_of"),
    ("dashboard_summary_fingerprint", "fingerprint"),
    ("dashboard_summary_worst", "checkin_rate, visit_rate, study_id"),
    ("dashboard_summary_checkins", "checkin_rate, study_id"),
    ("dashboard_summary_visits", "visit_rate, study_id"),
    ("dashboard_summary_study", "study_id"),
    ("dashboard_summary_site", "site_id, study_id"),
)


async def _byte_order(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            'ALTER TABLE dashboard_summary ALTER COLUMN study_id TYPE VARCHAR(32) COLLATE "C",'
            ' ALTER COLUMN site_id TYPE VARCHAR(16) COLLATE "C"'
        )


async def _default_order(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "ALTER TABLE dashboard_summary ALTER COLUMN site_id TYPE VARCHAR(16)"
            ' COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("followup", "0037_sms_day")]

    initial = False

    operations = [
        ops.RunSQL("DELETE FROM dashboard_summary", ops.RunSQL.noop),
        ops.CreateModel(
            name="DashboardSummaryGap",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("site_id", fields.CharField(max_length=16)),
            ],
            options={"table": "dashboard_summary_gap", "app": "followup", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="DashboardSummary",
            name="study_id",
            field=fields.CharField(default="", db_default="", max_length=32),
        ),
        ops.RunPython(_byte_order, _default_order),
        *(
            ops.RunSQL(
                f"CREATE INDEX {name} ON dashboard_summary ({columns})",
                f"DROP INDEX {name}",
            )
            for name, columns in _INDEXES
        ),
        ops.RunSQL(
            "INSERT INTO dashboard_summary_gap (site_id) SELECT code FROM site",
            "DELETE FROM dashboard_summary_gap",
        ),
    ]
