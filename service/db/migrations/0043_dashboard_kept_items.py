"""A site's visit counts by visit state, and its open alerts and inbox items, kept by
triggers (docs/decisions/0128), so the overview reads rows whose number does not grow
with the study.

Visits: ``dashboard_site_visits`` keeps a row per set of visit states (decision 0114),
and the sets grow with the study (65 at 100 participants, 203 at 10,000), each parsed
by the overview. Here a row per single visit state (one item of a summary row's
``visits``: "position code letter bucket") holds how many of the site's rows have it,
changed by the same writes: on SQLite a row trigger splits the row's items with
``json_each`` (codes are letters, digits, ``_.-``: nothing to escape), on PostgreSQL a
statement trigger with ``string_to_table``, summed per key and added in key order.

Open items: a row per kind (``alert``, ``inbox``) and site (``""`` for inbox items of
no site) holds how many are open, changed by a row trigger when an item is created or
deleted open, or its status or site changes. Alerts and inbox items are written one
at a time. And indexes for the oldest open item of a site (a seek) and for the items
of a site's last two months (a range).

Filled from the rows already there."""

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_ITEMS = "dashboard_site_visit_items"
_OPEN = "dashboard_site_open"
_ADD_ITEMS = (
    f"INSERT INTO {_ITEMS} (site_id, item, k) {{rows}}"
    f" ON CONFLICT (site_id, item) DO UPDATE SET k = {_ITEMS}.k + excluded.k"
)
_ADD_OPEN = (
    f"INSERT INTO {_OPEN} (kind, site_id, k) {{rows}}"
    f" ON CONFLICT (kind, site_id) DO UPDATE SET k = {_OPEN}.k + excluded.k"
)
# (kind, table): the items whose open ones are counted
_KINDS = (("alert", "alert"), ("inbox", "inbox_item"))


def _sqlite_items(r: str, sign: str) -> str:
    """The visit states of summary row ``r`` added (sign "") or taken away ("-")."""
    array = f"""'["' || replace({r}.visits, ',', '","') || '"]'"""
    return (
        _ADD_ITEMS.format(
            rows=f"SELECT {r}.site_id, j.value, {sign}1 FROM json_each({array}) j"
            " WHERE j.value <> ''"
        )
        + ";"
    )


def _summed_items(table: str, sign: str) -> str:
    """PostgreSQL: the visit states of ``table``'s rows, counted per key, in key order."""
    rows = (
        f"SELECT site_id, item, {sign}COUNT(*) FROM {table},"
        " string_to_table(visits, ',') AS item WHERE item <> ''"
        " GROUP BY site_id, item ORDER BY site_id, item"
    )
    return _ADD_ITEMS.format(rows=rows) + ";"


def _open_moved(kind: str) -> str:
    """The open item ``OLD`` taken away and ``NEW`` added, per site, in key order (on
    PostgreSQL two moves the other way round take the two rows' locks alike)."""
    rows = (
        "SELECT kind, site_id, SUM(k) FROM ("
        f"SELECT '{kind}' AS kind, COALESCE(OLD.site_id, '') AS site_id, -1 AS k"
        " WHERE OLD.status = 'open'"
        f" UNION ALL SELECT '{kind}', COALESCE(NEW.site_id, ''), 1 WHERE NEW.status = 'open'"
        ") x WHERE 1 = 1 GROUP BY kind, site_id ORDER BY kind, site_id"
    )
    return _ADD_OPEN.format(rows=rows) + ";"


def _open_one(kind: str, r: str, sign: str) -> str:
    return _ADD_OPEN.format(rows=f"VALUES ('{kind}', COALESCE({r}.site_id, ''), {sign}1)") + ";"


_OPEN_CHANGED = (
    "(OLD.status = 'open' OR NEW.status = 'open')"
    " AND (OLD.status {d} NEW.status OR OLD.site_id {d} NEW.site_id)"
)


def _sqlite() -> list[str]:
    statements = [
        f"CREATE TRIGGER dashboard_items_insert AFTER INSERT ON dashboard_summary"
        f" FOR EACH ROW BEGIN {_sqlite_items('NEW', '')} END",
        f"CREATE TRIGGER dashboard_items_delete AFTER DELETE ON dashboard_summary"
        f" FOR EACH ROW BEGIN {_sqlite_items('OLD', '-')} END",
        "CREATE TRIGGER dashboard_items_update AFTER UPDATE OF site_id, visits"
        " ON dashboard_summary FOR EACH ROW"
        " WHEN OLD.site_id IS NOT NEW.site_id OR OLD.visits IS NOT NEW.visits"
        f" BEGIN {_sqlite_items('OLD', '-')} {_sqlite_items('NEW', '')} END",
    ]
    for kind, table in _KINDS:
        statements += [
            f"CREATE TRIGGER dashboard_open_{kind}_insert AFTER INSERT ON {table}"
            f" FOR EACH ROW WHEN NEW.status = 'open' BEGIN {_open_one(kind, 'NEW', '')} END",
            f"CREATE TRIGGER dashboard_open_{kind}_delete AFTER DELETE ON {table}"
            f" FOR EACH ROW WHEN OLD.status = 'open' BEGIN {_open_one(kind, 'OLD', '-')} END",
            f"CREATE TRIGGER dashboard_open_{kind}_update AFTER UPDATE OF status, site_id"
            f" ON {table} FOR EACH ROW WHEN {_OPEN_CHANGED.format(d='IS NOT')}"
            f" BEGIN {_open_moved(kind)} END",
        ]
    return statements


def _postgres() -> list[str]:
    statements = []
    for event, name, transitions, body in (
        ("INSERT", "added", "NEW TABLE AS added", _summed_items("added", "")),
        ("DELETE", "removed", "OLD TABLE AS removed", _summed_items("removed", "-")),
        (
            "UPDATE",
            "changed",
            "OLD TABLE AS removed NEW TABLE AS added",
            _summed_items("removed", "-") + " " + _summed_items("added", ""),
        ),
    ):
        statements += [
            f"CREATE FUNCTION dashboard_items_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN {body} RETURN NULL; END $$",
            f"CREATE TRIGGER dashboard_items_{name} AFTER {event} ON dashboard_summary"
            f" REFERENCING {transitions} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION dashboard_items_{name}()",
        ]
    for kind, table in _KINDS:
        statements += [
            f"CREATE FUNCTION dashboard_open_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f" IF TG_OP = 'INSERT' THEN {_open_one(kind, 'NEW', '')}\n"
            f" ELSIF TG_OP = 'DELETE' THEN {_open_one(kind, 'OLD', '-')}\n"
            f" ELSE {_open_moved(kind)}\n"
            " END IF;\n"
            " RETURN NULL;\n"
            "END $$",
            f"CREATE TRIGGER dashboard_open_{kind}_added AFTER INSERT ON {table}"
            f" FOR EACH ROW WHEN (NEW.status = 'open') EXECUTE FUNCTION dashboard_open_{kind}()",
            f"CREATE TRIGGER dashboard_open_{kind}_removed AFTER DELETE ON {table}"
            f" FOR EACH ROW WHEN (OLD.status = 'open') EXECUTE FUNCTION dashboard_open_{kind}()",
            f"CREATE TRIGGER dashboard_open_{kind}_moved AFTER UPDATE OF status, site_id"
            f" ON {table} FOR EACH ROW WHEN ({_OPEN_CHANGED.format(d='IS DISTINCT FROM')})"
            f" EXECUTE FUNCTION dashboard_open_{kind}()",
        ]
    return statements


def _fills(postgres: bool) -> list[str]:
    """The kept rows from the rows already there (UPSERT's SELECT needs a WHERE on
    SQLite)."""
    if postgres:
        items = _summed_items("dashboard_summary", "")
    else:
        items = _ADD_ITEMS.format(
            rows="SELECT d.site_id, j.value, COUNT(*) FROM dashboard_summary d,"
            """ json_each('["' || replace(d.visits, ',', '","') || '"]') j"""
            " WHERE j.value <> '' GROUP BY d.site_id, j.value"
        )
    opened = [
        _ADD_OPEN.format(
            rows=f"SELECT '{kind}', COALESCE(site_id, ''), COUNT(*) FROM {table}"
            " WHERE status = 'open' GROUP BY COALESCE(site_id, '')"
        )
        for kind, table in _KINDS
    ]
    return [items, *opened]


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    for statement in [*_fills(postgres), *(_postgres() if postgres else _sqlite())]:
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for name in ("added", "removed", "changed"):
            await client.execute_script(
                f"DROP TRIGGER IF EXISTS dashboard_items_{name} ON dashboard_summary;"
                f" DROP FUNCTION IF EXISTS dashboard_items_{name}()"
            )
        for kind, table in _KINDS:
            for name in ("added", "removed", "moved"):
                await client.execute_script(
                    f"DROP TRIGGER IF EXISTS dashboard_open_{kind}_{name} ON {table}"
                )
            await client.execute_script(f"DROP FUNCTION IF EXISTS dashboard_open_{kind}()")
    else:
        names = [f"dashboard_items_{n}" for n in ("insert", "delete", "update")]
        names += [
            f"dashboard_open_{kind}_{n}"
            for kind, _ in _KINDS
            for n in ("insert", "delete", "update")
        ]
        for name in names:
            await client.execute_script(f"DROP TRIGGER IF EXISTS {name}")


def _counts(name: str, table: str, key: tuple[str, str], columns: tuple[Any, Any]) -> Any:
    return ops.CreateModel(
        name=name,
        fields=[
            (
                "id",
                fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True),
            ),
            (key[0], columns[0]),
            (key[1], columns[1]),
            ("k", fields.IntField()),
        ],
        options={"table": table, "app": "followup", "unique_together": (key,), "pk_attr": "id"},
        bases=["Model"],
    )


class Migration(migrations.Migration):
    dependencies = [("followup", "0042_metrics_kept_on_sqlite")]

    initial = False

    operations = [
        _counts(
            "DashboardSiteVisitItems",
            _ITEMS,
            ("site_id", "item"),
            (fields.CharField(max_length=16), fields.TextField(unique=False)),
        ),
        _counts(
            "DashboardSiteOpen",
            _OPEN,
            ("kind", "site_id"),
            (fields.CharField(max_length=8), fields.CharField(max_length=16)),
        ),
        ops.AddIndex(model_name="Alert", index=Index(fields=["site_id", "status", "raised_at"])),
        ops.AddIndex(model_name="Alert", index=Index(fields=["site_id", "raised_at"])),
        ops.AddIndex(
            model_name="InboxItem", index=Index(fields=["site_id", "status", "created_at"])
        ),
        ops.AddIndex(model_name="InboxItem", index=Index(fields=["site_id", "created_at"])),
        ops.RunPython(_create, _drop),
    ]
