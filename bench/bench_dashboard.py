"""Benchmark: the dashboard's overview and participant list with 1,000 participants and a
year of messages, next to a bare Litestar page on the same database in the same run.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_dashboard [--participants 1000] [--requests 30]

Seeds participants spread over a year of follow-up (outcomes, weekly answers, two
reminders a week for a year, alerts, inbox items; tests/integration/dashboard_seed.py),
signs a CUA coordinator in, and times HTTP requests (httpx's ASGI transport, no
network) to the real pages, ``/dashboard`` and ``/dashboard/participants`` (session,
figures, templates, charts: everything a browser gets), and to ``/bare``, a Litestar
app with one small query and a tiny HTML page (the floor any page pays), on the same
database in the same run. Prints p50/p95 per page. Set BENCH_DATABASE_URL=postgres://…
to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
WEEKS = 52


def _bare_app() -> object:
    """The floor any page pays: one small query, a tiny HTML page, no session."""
    from litestar import Litestar, MediaType, get

    from service.actions.views._queries import scoped_sites

    @get("/bare", media_type=MediaType.HTML)
    async def bare() -> str:
        sites = await scoped_sites(("CUA",))
        return f"<html><body><h1>{escape(sites[0].name)}</h1></body></html>"

    return Litestar(route_handlers=[bare])


async def _sign_in(client: object, email: str, password: str) -> None:
    form = await client.get("/dashboard/login")  # type: ignore[attr-defined]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = await client.post(  # type: ignore[attr-defined]
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text


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

    from service.actions.access import add_staff_user
    from service.actions.participants import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.app import create_app
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.db.models import Checkin, OutboundMessage
    from service.ports import ManualClock
    from service.settings import load_settings
    from tests.support.dashboard_seed import seed

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-secret-key-0123456789-0123456789",
                "PASSWORD_HASH_COST": "10",
            }
        )
        app = create_app(
            settings, gateway=ConsoleSmsGateway(), clock=ManualClock(NOW), run_scheduler=False
        )
        rt = app.state.runtime
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
            counts = (await OutboundMessage.all().count(), await Checkin.all().count())
            password = "bench-password-long-enough"  # noqa: S105  # a throw-away database
            await add_staff_user(rt, "bench@example.org", "coordinator", ["CUA"], password)
            pages = ("/bare", "/dashboard", "/dashboard/participants")
            # httpx's ASGI transport serves both apps on this loop (Litestar's test
            # client would run them on a loop of their own, with a second connection);
            # it sends no lifespan events, so the database stays the one opened here.
            bare = httpx.ASGITransport(app=_bare_app())  # type: ignore[arg-type]
            real = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with (
                httpx.AsyncClient(transport=bare, base_url="http://bench") as bare_client,
                httpx.AsyncClient(transport=real, base_url="http://bench") as client,
            ):
                await _sign_in(client, "bench@example.org", password)
                clients = {"/bare": bare_client}
                for path in pages:  # warm up alike (the schedules' cache included)
                    await _time(clients.get(path, client), path, 2)
                results = {p: await _time(clients.get(p, client), p, requests) for p in pages}
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
        print(f"  {path:<24} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {p50 / bare_p50:6.1f}x bare")
    print(f"  (mean of /dashboard {statistics.mean(results['/dashboard']) * 1000:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(bench(args.participants, args.requests))


if __name__ == "__main__":
    main()
