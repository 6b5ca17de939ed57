"""Benchmark: one ``GET /metrics`` scrape against a database the size of the trial.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_metrics [--participants 2000] [--per-participant 50]

``/metrics`` reads its figures from the database at scrape time. This seeds
participants x per-participant outbound messages (planned, sent, delivered, failed
with provider codes), inbound messages and open alerts, then times
``render_metrics`` against a baseline measured in the same run: a single
``SELECT COUNT(*)`` over the outbound table (the cheapest query that touches
every row). Set BENCH_DATABASE_URL=postgres://… to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.runtime import Runtime

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
STATUSES = ("planned", "sent", "delivered", "delivered", "delivered", "failed", "cancelled")


def _last_change(status: str, sent_at: datetime | None, k: int) -> datetime:
    """A row's ``updated_at`` is its last status change, as the outbox writes it: its
    creation while planned, its sending, or the provider's receipt a few seconds to a
    minute after that. (Every row updated now made the provider errors' 24-hour
    window hold every failed row.)"""
    if sent_at is None:
        return NOW
    if status in ("delivered", "failed"):
        return sent_at + timedelta(seconds=5 + k % 60)
    return sent_at


async def _seed(participants: int, per_participant: int) -> int:
    from service.db.models import Alert, InboundMessage, OutboundMessage, Participant, Site

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
            for n in range(participants)
        ],
        batch_size=1000,
    )
    ids = [p.id for p in await Participant.all().only("id")]
    rows = []
    for pid in ids:
        for k in range(per_participant):
            status = STATUSES[(pid + k) % len(STATUSES)]
            planned = NOW + timedelta(hours=k - per_participant // 2)
            sent_at = planned + timedelta(seconds=k % 90) if status != "planned" else None
            rows.append(
                OutboundMessage(
                    participant_id=pid,
                    kind="reminder",
                    purpose="reminder:bench",
                    occurrence=f"{k}",
                    dedupe_key=f"{pid}:bench:{k}",
                    message_key="reminder.clinic.week_before",
                    params={},
                    language="es",
                    send_at=planned,
                    status=status,
                    sent_at=sent_at,
                    error_code=30003 + k % 3 if status == "failed" else None,
                    created_at=NOW,
                    updated_at=_last_change(status, sent_at, k),
                )
            )
    await OutboundMessage.bulk_create(rows, batch_size=2000)
    await InboundMessage.bulk_create(
        [
            InboundMessage(
                message_sid=f"SM{n:032d}",
                from_phone=f"+5697{n % participants:07d}",
                body="1",
                received_at=NOW - timedelta(seconds=n),
            )
            for n in range(participants)
        ],
        batch_size=1000,
    )
    await Alert.bulk_create(
        [
            Alert(
                participant_id=pid,
                site=site,
                dedupe_key=f"bench:{pid}",
                status="open" if pid % 2 else "acknowledged",
                raised_at=NOW - timedelta(minutes=pid % 600),
            )
            for pid in ids[: max(1, participants // 10)]
        ],
        batch_size=1000,
    )
    return len(rows)


@asynccontextmanager
async def seeded(
    url: str, participants: int, per_participant: int
) -> AsyncIterator[tuple[Runtime, int]]:
    """The runtime on ``url``, migrated and seeded (``_seed``), and how many outbound
    messages the seed wrote; the database is closed on the way out."""
    from service.actions.participants import sync_sites
    from service.adapters.console_sms import ConsoleSmsGateway
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.ports import ManualClock
    from service.settings import load_settings

    settings = load_settings(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789-0123456789"}
    )
    rt = build_runtime(settings, gateway=ConsoleSmsGateway(), clock=ManualClock(NOW))
    await open_database(url)
    try:
        await apply_migrations()
        await sync_sites(rt)
        yield rt, await _seed(participants, per_participant)
    finally:
        await close_database()


async def bench(participants: int, per_participant: int, scrapes: int) -> None:
    from tortoise import connections

    from service.actions.views import render_metrics

    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        async with seeded(url, participants, per_participant) as (rt, messages):
            conn = connections.get("default")
            await render_metrics(rt)  # warm caches alike for both
            start = time.perf_counter()
            for _ in range(scrapes):
                await conn.execute_query("SELECT COUNT(*) FROM outbound_message")
            baseline = (time.perf_counter() - start) / scrapes
            start = time.perf_counter()
            for _ in range(scrapes):
                await render_metrics(rt)
            scrape = (time.perf_counter() - start) / scrapes
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"one /metrics scrape, {messages} outbound messages ({backend})")
    print(f"  baseline: count of outbound_message rows     {baseline * 1000:8.1f} ms")
    print(f"  render_metrics (every figure)                  {scrape * 1000:8.1f} ms")
    print(f"  ratio                                          {scrape / baseline:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--per-participant", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(bench(args.participants, args.per_participant, args.scrapes))


if __name__ == "__main__":
    main()
