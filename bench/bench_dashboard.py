"""Benchmark: the dashboard's overview and participant list with 1,000 participants and a
year of messages, next to a bare Litestar page on the same database in the same run.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_dashboard [--participants 1000] [--requests 30]

Seeds participants spread over a year of follow-up (outcomes, weekly answers, two
reminders a week for a year, alerts, inbox items; tests/integration/dashboard_seed.py),
then times HTTP requests through Litestar's test client against three routes of one
app: ``/bare`` (one small query, a tiny HTML page: the floor any page pays),
``/overview`` and ``/participants`` (the figures the dashboard pages render, from
service.actions.dashboard_figures / dashboard_rows, drawn as HTML with the SVG chart).
Prints p50/p95 per route. Set BENCH_DATABASE_URL=postgres://… to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
WEEKS = 52


def _app(rt: object) -> object:
    from litestar import Litestar, MediaType, get

    from service.actions.actors import Actor, Role
    from service.actions.dashboard_figures import overview
    from service.actions.dashboard_rows import participant_rows
    from service.db.dashboard_queries import scoped_sites
    from service.web.dashboard.svg_charts import Series, grouped_bars

    actor = Actor(kind="staff", label="staff:bench", role=Role.COORDINATOR, sites=("CUA",))

    @get("/bare", media_type=MediaType.HTML)
    async def bare() -> str:
        sites = await scoped_sites(("CUA",))
        return f"<html><body><h1>{escape(sites[0].name)}</h1></body></html>"

    @get("/overview", media_type=MediaType.HTML)
    async def overview_page() -> str:
        figures = await overview(rt, actor)  # type: ignore[arg-type]
        codes = figures.visit_codes
        visits = figures.total.visits
        chart = grouped_bars(
            "visits",
            "Visit adherence by visit",
            "attended in window / settled, this month and last month",
            codes,
            [
                Series(
                    "this", [visits[c].rate("this") if c in visits else None for c in codes], "t"
                ),
                Series(
                    "last", [visits[c].rate("last") if c in visits else None for c in codes], "l"
                ),
            ],
        )
        cells = "".join(
            f"<tr><td>{c}</td><td>{dict(visits[c].states)}</td></tr>" for c in codes if c in visits
        )
        return f"<html><body>{chart}<table>{cells}</table></body></html>"

    @get("/participants", media_type=MediaType.HTML)
    async def participants_page() -> str:
        rows = (await participant_rows(rt, actor))[:50]  # type: ignore[arg-type]
        body = "".join(
            f"<tr><td>{escape(r.study_id)}</td><td>{r.checkins.completed} / "
            f"{r.checkins.expected}</td><td>{' '.join(c.state for c in r.cells)}</td></tr>"
            for r in rows
        )
        return f"<html><body><table>{body}</table></body></html>"

    return Litestar(route_handlers=[bare, overview_page, participants_page])


async def _time(client: object, path: str, requests: int) -> list[float]:
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = await client.get(path)  # type: ignore[attr-defined]
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return samples


def _p(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))] * 1000


async def bench(participants: int, requests: int) -> None:
    import httpx

    from service.actions.sites import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.db.models import CheckIn, OutboundMessage
    from service.ports import ManualClock
    from service.settings import load_settings
    from tests.integration.dashboard_seed import seed

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        settings = load_settings(
            {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789-0123456789"}
        )
        rt = build_runtime(settings, gateway=ConsoleSmsGateway(), clock=ManualClock(NOW))
        await open_database(url)
        try:
            await apply_migrations()
            await sync_sites(rt)
            await seed(
                participants,
                site="CUA",
                prefix="M",
                now=NOW,
                messages_per_participant=2 * WEEKS,
                message_every_hours=84,
            )
            await seed(50, site="HBLT", prefix="H", now=NOW, phone_offset=900000)
            counts = (await OutboundMessage.all().count(), await CheckIn.all().count())
            # httpx's ASGI transport serves the app on this loop (Litestar's test client
            # would run it on a loop of its own, with a second database connection).
            transport = httpx.ASGITransport(app=_app(rt))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for path in ("/bare", "/overview", "/participants"):  # warm up alike
                    await _time(client, path, 2)
                results = {
                    p: await _time(client, p, requests)
                    for p in ("/bare", "/overview", "/participants")
                }
        finally:
            await close_database()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"dashboard, {participants} participants at the coordinator's site, {counts[0]} outbound"
        f" messages, {counts[1]} check-ins ({backend}, {requests} requests each)"
    )
    bare_p50 = _p(results["/bare"], 0.5)
    for path, samples in results.items():
        p50, p95 = _p(samples, 0.5), _p(samples, 0.95)
        print(f"  {path:<14} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {p50 / bare_p50:6.1f}x bare")
    print(f"  (mean of /overview {statistics.mean(results['/overview']) * 1000:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(bench(args.participants, args.requests))


if __name__ == "__main__":
    main()
