"""Per-site totals of the dashboard's summary rows (docs/decisions/0114), kept by
triggers on ``dashboard_summary``: an inserted row's figures are added, a deleted
row's taken away, in the writer's own statement, so the overview reads a site's
totals (a row per set of visit states, and a count per longest run of misses)
instead of summing every participant's row. On SQLite row triggers; on PostgreSQL
statement triggers that sum the rows a statement wrote before adding them (a page's
refresh inserts thousands at once), in key order so two writers take the totals'
row locks in the same order. Filled from the rows already there."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# (total column, summary column): the sums kept per set of visit states
_SUMS = (
    ("n", "expected"),
    ("d", "completed"),
    ("l", "late"),
    ("n1", "expected_this"),
    ("d1", "completed_this"),
    ("l1", "late_this"),
    ("n2", "expected_last"),
    ("d2", "completed_last"),
    ("l2", "late_last"),
)
# (which, summary column): the longest runs kept as counts per length
_LONGEST = (("", "longest"), ("1", "longest_this"), ("2", "longest_last"))
_VISITS = "dashboard_site_visits"
_LONG = "dashboard_site_longest"
_ADD_VISITS = (
    f"INSERT INTO {_VISITS} (site_id, visits, k, {', '.join(t for t, _ in _SUMS)}) {{rows}}"
    " ON CONFLICT (site_id, visits) DO UPDATE SET "
    + ", ".join(f"{t} = {_VISITS}.{t} + excluded.{t}" for t in ("k", *(t for t, _ in _SUMS)))
)
_ADD_LONGEST = (
    f"INSERT INTO {_LONG} (site_id, which, longest, k) {{rows}}"
    f" ON CONFLICT (site_id, which, longest) DO UPDATE SET k = {_LONG}.k + excluded.k"
)


def _sqlite_row(r: str, sign: str) -> str:
    """Row ``r`` added (sign "") or taken away (sign "-")."""
    visits = ", ".join(
        [f"{r}.site_id", f"{r}.visits", f"{sign}1", *(f"{sign}{r}.{c}" for _, c in _SUMS)]
    )
    longest = ", ".join(f"({r}.site_id, '{w}', {r}.{c}, {sign}1)" for w, c in _LONGEST)
    return (
        _ADD_VISITS.format(rows=f"VALUES ({visits})")
        + "; "
        + _ADD_LONGEST.format(rows=f"VALUES {longest}")
        + ";"
    )


def _sqlite() -> list[str]:
    return [
        "CREATE TRIGGER dashboard_site_insert AFTER INSERT ON dashboard_summary FOR EACH ROW"
        f" BEGIN {_sqlite_row('NEW', '')} END",
        "CREATE TRIGGER dashboard_site_delete AFTER DELETE ON dashboard_summary FOR EACH ROW"
        f" BEGIN {_sqlite_row('OLD', '-')} END",
        "CREATE TRIGGER dashboard_site_update AFTER UPDATE ON dashboard_summary FOR EACH ROW"
        f" BEGIN {_sqlite_row('OLD', '-')} {_sqlite_row('NEW', '')} END",
    ]


def _summed(table: str, sign: str) -> str:
    """The rows of ``table`` summed per key, as rows for the two INSERTs."""
    sums = ", ".join(f"{sign}SUM({c})" for _, c in _SUMS)
    visits = (
        f"SELECT site_id, visits, {sign}COUNT(*), {sums} FROM {table}"
        " GROUP BY site_id, visits ORDER BY site_id, visits"
    )
    each = " UNION ALL ".join(f"SELECT site_id, '{w}' AS which, {c} AS longest FROM {table}" for w, c in _LONGEST)
    longest = (
        f"SELECT site_id, which, longest, {sign}COUNT(*) FROM ({each}) x"
        " GROUP BY site_id, which, longest ORDER BY site_id, which, longest"
    )
    return _ADD_VISITS.format(rows=visits) + "; " + _ADD_LONGEST.format(rows=longest) + ";"


def _postgres() -> list[str]:
    statements = []
    for event, name, transitions, body in (
        ("INSERT", "added", "NEW TABLE AS added", _summed("added", "")),
        ("DELETE", "removed", "OLD TABLE AS removed", _summed("removed", "-")),
        (
            "UPDATE",
            "changed",
            "OLD TABLE AS removed NEW TABLE AS added",
            _summed("removed", "-") + " " + _summed("added", ""),
        ),
    ):
        statements += [
            f"CREATE FUNCTION dashboard_site_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN {body} RETURN NULL; END $$",
            f"CREATE TRIGGER dashboard_site_{name} AFTER {event} ON dashboard_summary"
            f" REFERENCING {transitions} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION dashboard_site_{name}()",
        ]
    return statements


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    # Filled from the rows there: UPSERT's SELECT needs a WHERE on SQLite.
    fill = _summed("dashboard_summary", "").replace(" GROUP BY", " WHERE 1 = 1 GROUP BY")
    for statement in [fill, *(_postgres() if postgres else _sqlite())]:
        await client.execute_script(statement)


async def _drop(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for name in ("added", "removed", "changed"):
            await client.execute_script(
                f"DROP TRIGGER IF EXISTS dashboard_site_{name} ON dashboard_summary;"
                f" DROP FUNCTION IF EXISTS dashboard_site_{name}()"
            )
    else:
        for name in ("insert", "delete", "update"):
            await client.execute_script(f"DROP TRIGGER IF EXISTS dashboard_site_{name}")


class Migration(migrations.Migration):
    dependencies = [('followup', '0038_dashboard_list_order')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardSiteLongest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site_id', fields.CharField(max_length=16)),
                ('which', fields.CharField(max_length=1)),
                ('longest', fields.IntField()),
                ('k', fields.IntField()),
            ],
            options={'table': 'dashboard_site_longest', 'app': 'followup', 'unique_together': (('site_id', 'which', 'longest'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardSiteVisits',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('site_id', fields.CharField(max_length=16)),
                ('visits', fields.TextField(unique=False)),
                ('k', fields.IntField()),
                ('n', fields.IntField()),
                ('d', fields.IntField()),
                ('l', fields.IntField()),
                ('n1', fields.IntField()),
                ('d1', fields.IntField()),
                ('l1', fields.IntField()),
                ('n2', fields.IntField()),
                ('d2', fields.IntField()),
                ('l2', fields.IntField()),
            ],
            options={'table': 'dashboard_site_visits', 'app': 'followup', 'unique_together': (('site_id', 'visits'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(_create, _drop),
    ]
