"""Profile the inbox's understanding alone: no HTTP, no webhook, one process.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.profile_inbox [--messages 400] [--phones 16] [--profile]

Stores ``--messages`` "hola" messages from ``--phones`` enrolled participants as
pending (the webhook's one statement each), then understands them number by number
(``understand_number``) and prints messages a second, the statements a message
(``tests.support.sql_counter.count_sql``, grouped by text) and, with ``--profile``, the
cProfile listing. Why a separate script: bench_inbound measures the whole path under
HTTP load, where understanding's own cost is hidden among the webhooks'; this is the
figure decision 0113 worked from. The counting itself logs each statement at DEBUG,
which ``--profile`` shows as logging time that a served process does not pay.

Set BENCH_DATABASE_URL=postgres://… (a scratch database: migrated and emptied) for
PostgreSQL instead of a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path

from tortoise import connections

from bench.bench_inbound import _EMPTY_POSTGRES, _seed, bench_settings
from tests.support.sql_counter import count_sql


async def profile_inbox(messages: int, phones_count: int, profile: bool) -> None:
    from service.actions.inbound import store_inbound, understand_number
    from service.actions.participants import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.ports import InboundSms, SystemClock

    logging.getLogger("service").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'inbox.sqlite3'}"
        settings = bench_settings(url)
        await open_database(url)
        try:
            await apply_migrations()
            if url.startswith("postgres"):
                await connections.get("default").execute_script(_EMPTY_POSTGRES)
            rt = build_runtime(settings, gateway=ConsoleSmsGateway(), clock=SystemClock())
            await sync_sites(rt)
            rt.red_flags.warm()  # as the app does at start-up
            phones = await _seed(phones_count)
            for n in range(messages):
                await store_inbound(
                    rt,
                    InboundSms(
                        provider_id=f"SMprof{n:028x}",
                        from_phone=phones[n % len(phones)],
                        to_phone="+15005550006",
                        body="hola",
                    ),
                )
            profiler = cProfile.Profile()
            started = time.perf_counter()
            async with count_sql() as sql:
                if profile:
                    profiler.enable()
                for phone in phones:
                    await understand_number(rt, phone)
                if profile:
                    profiler.disable()
            took = time.perf_counter() - started
        finally:
            await close_database()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{backend}: {messages} messages understood in {took:.3f} s = {messages / took:.0f}/s")
    print(f"statements a message: {sql.count / messages:.1f} (begin and commit not counted)")
    for text, count in Counter(" ".join(s.split())[:100] for s in sql.statements).most_common():
        print(f"  {count / messages:5.2f}  {text}")
    if profile:
        order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime: own time first
        pstats.Stats(profiler).sort_stats(order).print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--phones", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="print the cProfile listing")
    args = parser.parse_args()
    asyncio.run(profile_inbox(args.messages, args.phones, args.profile))


if __name__ == "__main__":
    main()
