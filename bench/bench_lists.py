"""Benchmark: ``GET /api/v1/participants`` with a few participants and with 10,000.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_lists [--many 10000] [--few 5] [--requests 20] [--all]

Seeds the participants straight into the tables, signs a coordinator in through the
API, then times the list route through the real application (Litestar's
in-process ASGI client: routing, the bearer-token check, the query, the JSON
encoding) with a few participants, with one full page (100) and with many. Each
request asks for the first page at the default limit; ``--all`` also walks every
page through the ``Link: rel="next"`` header. Baseline in the same run:
``GET /health/live`` (no database). Set BENCH_DATABASE_URL=postgres://… to measure
PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
PASSWORD = "bench-password-long-enough"  # noqa: S105  # a throwaway bench account


async def _seed(start: int, count: int) -> None:
    from service.db.models import Participant, Site

    site = await Site.get(code="CUA")
    await Participant.bulk_create(
        [
            Participant(
                study_id=f"M{n:05d}",
                site=site,
                phone=f"+5697{n:07d}",
                timezone="America/Santiago",
                can_become_pregnant=False,
                baseline_infusion_date=date(2026, 9, 1),
                sms_consent=True,
            )
            for n in range(start, start + count)
        ],
        batch_size=1000,
    )


async def _fresh_postgres(url: str) -> None:
    """Drop and re-create the bench database, then migrate it (``serve`` would refuse)."""
    import asyncpg  # type: ignore[import-untyped]  # no stubs

    from service.db.lifecycle import apply_migrations, close_database, open_database

    dsn = url.replace("postgres://", "postgresql://", 1)
    base, _, name = dsn.rpartition("/")
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await open_database(url)
    try:
        await apply_migrations()
    finally:
        await close_database()


async def _time(client: Any, path: str, headers: dict[str, str], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return times


async def _walk(client: Any, headers: dict[str, str]) -> tuple[float, int]:
    """Every page, following rel="next"; returns seconds and rows."""
    start = time.perf_counter()
    path: str | None = "/api/v1/participants"
    rows = 0
    while path:
        response = await client.get(path, headers=headers)
        rows += len(response.json())
        link = response.headers.get("link", "")
        path = link[link.index("<") + 1 : link.index(">")] if link else None
        if path and path.startswith("http"):
            path = "/" + path.split("/", 3)[3]
    return time.perf_counter() - start, rows


def _ms(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(times) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


async def bench(few: int, many: int, requests: int, walk: bool) -> None:
    from litestar.testing import AsyncTestClient

    from service.actions.access import add_staff_user
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.app import create_app
    from service.domain.paging import DEFAULT_LIMIT
    from service.ports import ManualClock
    from service.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        if url.startswith("postgres"):
            await _fresh_postgres(url)
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-secret-key-0123456789-0123456789",
                "PASSWORD_HASH_COST": "10",
                "SMS_RATE_PER_SECOND": "0",
            }
        )
        app = create_app(
            settings, clock=ManualClock(NOW), gateway=ConsoleSmsGateway(), run_scheduler=False
        )
        async with AsyncTestClient(app=app) as client:
            rt = app.state.runtime
            await add_staff_user(rt, "bench@example.org", "coordinator", ["CUA"], PASSWORD)
            token = (
                await client.post(
                    "/api/v1/auth/token", json={"email": "bench@example.org", "password": PASSWORD}
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            await _seed(0, few)
            await _time(client, "/api/v1/participants", headers, 3)  # warm up
            bare = await _time(client, "/health/live", {}, requests)
            small = await _time(client, "/api/v1/participants", headers, requests)
            await _seed(few, DEFAULT_LIMIT - few)
            full = await _time(client, "/api/v1/participants", headers, requests)
            await _seed(DEFAULT_LIMIT, many - DEFAULT_LIMIT)
            await _time(client, "/api/v1/participants", headers, 2)
            large = await _time(client, "/api/v1/participants", headers, requests)
            walked = await _walk(client, headers) if walk else None
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"GET /api/v1/participants, first page ({backend}, {requests} requests each)")
    print(f"  baseline GET /health/live          {_ms(bare)}")
    print(f"  {few:>6,} participants                 {_ms(small)}")
    print(f"  {DEFAULT_LIMIT:>6,} participants (one page)      {_ms(full)}")
    print(f"  {many:>6,} participants                 {_ms(large)}")
    print(
        f"  ratio many/few (p50)               "
        f"{statistics.median(large) / statistics.median(small):7.1f}x"
    )
    print(
        f"  ratio many/one page (p50)          "
        f"{statistics.median(large) / statistics.median(full):7.1f}x"
    )
    if walked:
        print(f"  every page of {walked[1]:,} rows        {walked[0]:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--few", type=int, default=5)
    parser.add_argument("--many", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--all", action="store_true", help="also walk every page")
    args = parser.parse_args()
    # The app's lifespan opens the database on the client's loop; harmless here.
    warnings.filterwarnings("ignore", message=".*different event loop.*")
    asyncio.run(bench(args.few, args.many, args.requests, args.all))


if __name__ == "__main__":
    main()
