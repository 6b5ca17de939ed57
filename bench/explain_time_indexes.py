"""Which index each query on ``outbound_message``'s ``sent_at`` or ``updated_at`` uses,
with and without the plain indexes on those two columns (decision 0112).

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.explain_time_indexes [--participants 3000]

Seeds a study with a year of history (bench/scale_seed.py), plans everyone (the
planned rows, ``sent_at`` NULL, are most of a real table's unsent rows), then prints
each query's plan and its best time of five, first as the database is, then after
dropping every plain single-column index on ``sent_at`` or ``updated_at`` (none after
migration 0040: the second half then repeats the first). Set BENCH_DATABASE_URL=
postgres://… (a scratch database: dropped and created again) to look at PostgreSQL.
"""

# ruff: noqa: S608  # statements of fixed values written here, nothing from outside

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_scale import NOW
from service.actions.inbound._dialogue import CONFIRM_WINDOW

_CHECKIN = "kind = 'checkin'"
_REMINDER = "kind = 'reminder'"
_SENT = "status IN ('sent', 'delivered')"


def _queries(pg: bool, pid: int, ids: str) -> list[tuple[str, str]]:
    """(where it is written, the statement as it runs) with fixed values."""
    t = (lambda d: f"TIMESTAMPTZ '{d.isoformat()}'") if pg else (lambda d: f"'{d.isoformat()}'")
    day = t(NOW - timedelta(days=1))
    hour = t(NOW - timedelta(hours=1))
    now = t(NOW)
    month = t(NOW - timedelta(days=30))
    days = ", ".join(
        f"({n}, {t(NOW - timedelta(days=n + 1))}, {t(NOW - timedelta(days=n))})" for n in range(30)
    )
    late = (
        "EXTRACT(EPOCH FROM (sent_at - send_at))"
        if pg
        else "(julianday(sent_at) - julianday(send_at)) * 86400.0"
    )
    return [
        (
            "views/_metrics.py provider errors",
            "SELECT error_code, COUNT(id) AS n FROM outbound_message"
            f" WHERE error_code IS NOT NULL AND updated_at >= {day} GROUP BY error_code",
        ),
        (
            "views/_metrics.py lateness",
            f"SELECT COUNT(*), SUM(late) FROM (SELECT {late} AS late FROM outbound_message"
            f" WHERE sent_at >= {hour} AND sent_at <= {now}) s",
        ),
        (
            "views/_sms_days.py sent (30 days)",
            f"WITH d(k, s, e) AS (VALUES {days}) SELECT p.site_id, d.k, COUNT(*)"
            " FROM d CROSS JOIN outbound_message o CROSS JOIN participant p"
            " WHERE o.sent_at >= d.s AND o.sent_at < d.e AND p.id = o.participant_id"
            " AND p.site_id IN ('CUA') GROUP BY p.site_id, d.k",
        ),
        (
            "views/_sms_days.py failed (30 days)",
            f"WITH d(k, s, e) AS (VALUES {days}) SELECT p.site_id, d.k, COUNT(*)"
            " FROM d CROSS JOIN outbound_message o CROSS JOIN participant p"
            " WHERE o.status = 'failed' AND o.updated_at >= d.s AND o.updated_at < d.e"
            " AND p.id = o.participant_id AND p.site_id IN ('CUA') GROUP BY p.site_id, d.k",
        ),
        (
            "views/_demo_phone.py sent to one participant",
            f"SELECT * FROM outbound_message WHERE participant_id = {pid}"
            " AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 20",
        ),
        (
            "inbound/_context.py conversation_from_prompt",
            f"SELECT * FROM outbound_message WHERE participant_id = {pid} AND {_CHECKIN}"
            f" AND {_SENT} AND sent_at <= {now} ORDER BY sent_at DESC LIMIT 1",
        ),
        (
            "inbound/_context.py was_prompted",
            f"SELECT 1 FROM outbound_message WHERE participant_id = {pid} AND {_CHECKIN}"
            f" AND {_SENT} AND sent_at <= {now} LIMIT 1",
        ),
        (
            "inbound/_context.py confirmable_visit reminder",
            f"SELECT * FROM outbound_message WHERE participant_id = {pid} AND {_REMINDER}"
            f" AND {_SENT} AND sent_at >= {t(NOW - CONFIRM_WINDOW)}"
            " ORDER BY sent_at DESC LIMIT 1",
        ),
        (
            "inbound/_context.py confirmable_visit later prompt",
            f"SELECT 1 FROM outbound_message WHERE participant_id = {pid} AND {_CHECKIN}"
            f" AND {_SENT} AND sent_at > {t(NOW - CONFIRM_WINDOW)} LIMIT 1",
        ),
        (
            "outbox/_plan_rows.py recent sends of a batch",
            "SELECT participant_id, sent_at, send_at FROM outbound_message"
            f" WHERE participant_id IN ({ids}) AND kind IN ('reminder', 'checkin')"
            " AND NOT status IN ('planned', 'in_app', 'cancelled') AND status IN"
            f" ('sending', 'sent', 'delivered', 'undelivered') AND (sent_at >= {month}"
            f" OR send_at >= {month})",
        ),
        (
            "edc/_sequence.py watched outbound rows",
            "SELECT s.id FROM edc_sequence_watch w JOIN outbound_message s"
            " ON s.id = w.source_id WHERE w.source = 'outbound'"
            " AND s.participant_id IS NOT NULL AND s.sent_at IS NOT NULL ORDER BY s.id",
        ),
    ]


async def _plan(conn: Any, pg: bool, sql: str) -> str:
    if pg:
        _, rows = await conn.execute_query(f"EXPLAIN {sql}")
        return "\n".join("    " + str(dict(r)["QUERY PLAN"]) for r in rows)
    _, rows = await conn.execute_query(f"EXPLAIN QUERY PLAN {sql}")
    return "\n".join("    " + str(dict(r)["detail"]) for r in rows)


async def _best_ms(conn: Any, sql: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        await conn.execute_query(sql)
        best = min(best, time.perf_counter() - start)
    return best * 1000


async def _plain_indexes(conn: Any, pg: bool) -> list[str]:
    """Names of the single-column, unconditional indexes on sent_at or updated_at."""
    if pg:
        _, rows = await conn.execute_query(
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes"
            " WHERE tablename = 'outbound_message'"
        )
    else:
        _, rows = await conn.execute_query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'outbound_message' AND sql IS NOT NULL"
        )
    found = []
    for row in map(dict, rows):
        text = str(row["sql"]).replace('"', "").replace(" ", "").lower()
        if "where" not in text and text.endswith(("(sent_at)", "(updated_at)")):
            found.append(str(row["name"]))
    return found


async def explain(participants: int) -> None:
    from tortoise import connections

    from bench.bench_outbox import _fresh
    from bench.scale_seed import seed_study
    from service.actions.outbox import replan_run
    from service.actions.participants import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.app import create_app
    from service.db.lifecycle import close_database
    from service.ports import ManualClock
    from service.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'x.sqlite3'}"
        settings = load_settings(
            {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789-0123456789"}
        )
        app = create_app(
            settings, gateway=ConsoleSmsGateway(), clock=ManualClock(NOW), run_scheduler=False
        )
        rt = app.state.runtime
        await _fresh(url)
        try:
            await sync_sites(rt)
            await seed_study(participants, site="CUA", prefix="A", now=NOW)
            await replan_run(rt)
            conn = connections.get("default")
            pg = conn.capabilities.dialect == "postgres"
            await conn.execute_script("ANALYZE")
            _, rows = await conn.execute_query("SELECT COUNT(*) AS n FROM outbound_message")
            print(f"== {'PostgreSQL' if pg else 'SQLite'}: {participants} participants,"
                  f" {dict(rows[0])['n']:,} outbound rows")  # fmt: skip
            _, rows = await conn.execute_query(
                "SELECT id FROM participant ORDER BY id LIMIT 10 OFFSET 100"
            )
            ids = [int(dict(r)["id"]) for r in rows]
            queries = _queries(pg, ids[0], ", ".join(map(str, ids)))
            plain = await _plain_indexes(conn, pg)
            without = "without " + (", ".join(plain) or "plain indexes: none left")
            for label, drop in (("as migrated", False), (without, True)):
                if drop:
                    for name in plain:
                        await conn.execute_script(f"DROP INDEX {name}")
                    await conn.execute_script("ANALYZE")
                print(f"-- {label}")
                for where, sql in queries:
                    ms = await _best_ms(conn, sql)
                    print(f"  {where}: {ms:.2f} ms\n{await _plan(conn, pg, sql)}")
        finally:
            await close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(explain(args.participants))


if __name__ == "__main__":
    main()
