"""Benchmark: the outbox at the provider's pace, every figure in one run.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_outbox [--messages 10000] [--participants 10000]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/followup_bench_x ...  # PostgreSQL

Each figure is printed next to a baseline measured in the same run:

1. drain: 10,000 due messages claimed, rendered, sent through the official twilio SDK
   to the local Twilio double (which takes ``--latency-ms`` per request, as a real
   provider does), recorded back — against bare concurrent POSTs of the same form to
   the same server with the same concurrency (goal ≥ 0.6×);
2. lateness: messages due at random moments over ``--window-s`` at 80 % of the cap,
   sent by the real dispatcher loop; p50/p99 of sent minus due (goal p99 ≤ 1 s);
   then everything due at once at twice the cap: throughput in segments as a share
   of the cap (goal ≥ 95 %);
3. recovery: two ``worker`` processes, one kill -9'd mid-send; seconds until every
   row it held is settled by the other (goal < 10 s);
4. start-up re-planning of ``--participants`` participants after a protocol change,
   against the pure planning of the same participants.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)
SECRET = "bench-secret-key-0123456789-0123456789"  # noqa: S105  # a bench-only key
CONCURRENCY = 32


def _settings(url: str, **extra: str) -> Any:
    from service.settings import load_settings

    return load_settings(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "SMS_RATE_PER_SECOND": "0", **extra}
    )


def _gateway(base_url: str) -> Any:
    from service.adapters.twilio_sms import TwilioSmsGateway
    from tests.support.fakes.twilio_server import (
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        TEST_MESSAGING_SERVICE_SID,
    )

    return TwilioSmsGateway(
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
        api_base_url=base_url,
    )


async def _bare_posts(base_url: str, count: int) -> float:
    from tests.support.fakes.twilio_server import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

    url = f"{base_url}/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
    headers = {"Authorization": aiohttp.encode_basic_auth(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)}
    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(n: int) -> None:
            form = {
                "To": f"+5696{n % 10_000_000:07d}",
                "Body": "MSC-ROLE: recordatorio de prueba",
                "MessagingServiceSid": "MG" + "0" * 32,
                "StatusCallback": "http://127.0.0.1:1/webhooks/twilio/status",
            }
            async with gate, session.post(url, data=form) as response:
                await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(count)))
        return time.perf_counter() - start


async def _seed(count: int, send_at: list[datetime] | None = None) -> None:
    """``count`` participants with one due reminder each (short, one GSM-7 segment)."""
    from service.db.models import OutboundMessage, Participant, Site

    site = await Site.get(code="CUA")
    people = [
        Participant(
            study_id=f"B{n:05d}",
            site=site,
            phone=f"+5696{n:07d}",
            timezone="UTC",  # quiet hours never defer a benchmark message
            can_become_pregnant=False,
            baseline_infusion_date=date(2026, 9, 1),
            sms_consent=True,
        )
        for n in range(count)
    ]
    await Participant.bulk_create(people, batch_size=1000)
    ids = [p.id for p in await Participant.all().order_by("id").only("id")]
    rows = [
        OutboundMessage(
            participant_id=pid,
            kind="reply",
            purpose="reply:bench",
            occurrence=str(n),
            dedupe_key=f"{pid}:reply:bench",
            message_key="inbound.received",
            params={},
            language="es",
            send_at=send_at[n] if send_at else NOW - timedelta(minutes=5),
            expires_at=(send_at[n] if send_at else NOW) + timedelta(days=2),
            created_at=NOW,
            updated_at=NOW,
        )
        for n, pid in enumerate(ids)
    ]
    await OutboundMessage.bulk_create(rows, batch_size=1000)


async def _fresh(url: str) -> None:
    from service.db.lifecycle import apply_migrations, open_database

    if url.startswith("postgres"):
        import asyncpg

        dsn = url.replace("postgres://", "postgresql://", 1).split("?", 1)[0]  # ?command_timeout=…
        base, _, name = dsn.rpartition("/")
        conn = await asyncpg.connect(base + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    else:
        await asyncio.to_thread(Path(url.removeprefix("sqlite://")).unlink, missing_ok=True)
    await open_database(url)
    await apply_migrations()


async def bench_drain(url: str, count: int, latency_s: float) -> None:
    from service.actions.outbox import dispatch_due
    from service.actions.participants import sync_sites
    from service.composition import build_runtime
    from service.db.lifecycle import close_database
    from service.ports import ManualClock
    from tests.support.fakes.twilio_server import TwilioFakeServer

    with TwilioFakeServer() as server:
        server.delay_s = latency_s
        gateway = _gateway(server.base_url)
        rt = build_runtime(_settings(url), gateway=gateway, clock=ManualClock(NOW))
        await _fresh(url)
        try:
            await sync_sites(rt)
            await _seed(count)
            baseline = await _bare_posts(server.base_url, count)
            server.reset()
            server.delay_s = latency_s
            start = time.perf_counter()
            sent = 0
            while True:
                counts = await dispatch_due(rt)
                sent += counts.sent
                if counts.claimed == 0:
                    break
            elapsed = time.perf_counter() - start
        finally:
            await gateway.aclose()
            await close_database()
    print(f"1. drain {count} due messages, provider latency {latency_s * 1000:.0f} ms")
    print(f"   baseline: bare concurrent POSTs ({CONCURRENCY})  {count / baseline:8.0f} /s")
    print(f"   dispatcher via twilio SDK              {sent / elapsed:8.0f} /s ({sent} sent)")
    print(f"   ratio                                  {(sent / elapsed) / (count / baseline):8.2f}")


async def bench_lateness(url: str, cap: float, window_s: float) -> None:
    from service.actions.participants import sync_sites
    from service.composition import build_runtime
    from service.db.lifecycle import close_database
    from service.db.models import OutboundMessage
    from service.jobs.dispatcher import Dispatcher
    from service.ports import SystemClock
    from tests.support.fakes.twilio_server import TwilioFakeServer

    rng = random.Random(8)
    count = int(cap * 0.8 * window_s)
    with TwilioFakeServer() as server:
        gateway = _gateway(server.base_url)
        settings = _settings(url, SMS_RATE_PER_SECOND=str(cap))
        rt = build_runtime(settings, gateway=gateway, clock=SystemClock())
        await _fresh(url)
        dispatcher = Dispatcher(rt, interval_s=30)
        try:
            await sync_sites(rt)
            begin = datetime.now(UTC) + timedelta(seconds=2)
            moments = sorted(
                begin + timedelta(seconds=rng.random() * window_s) for _ in range(count)
            )
            await _seed(count, moments)
            await dispatcher.start()
            await asyncio.sleep(window_s + 4)
            rows = await OutboundMessage.filter(status="sent").values_list("send_at", "sent_at")
            late = sorted((sent - due).total_seconds() for due, sent in rows)
            await dispatcher.stop()
            # Saturation: twice the cap's worth of messages, all due now.
            await OutboundMessage.all().delete()
            from service.db.models import Participant

            await Participant.all().delete()
            burst = int(cap * 2 * 10)
            await _seed(burst, [datetime.now(UTC) - timedelta(seconds=1)] * burst)
            opened = datetime.now(UTC)
            await dispatcher.start()
            await asyncio.sleep(10)
            await dispatcher.stop()
            # Steady state only: the first 2 s include the bucket's initial burst.
            steady = await OutboundMessage.filter(
                status="sent", sent_at__gte=opened + timedelta(seconds=2)
            ).values_list("segments", "sent_at")
            last = max((at for _, at in steady), default=opened)
            took = (last - opened).total_seconds() - 2
            segments = sum(s or 1 for s, _ in steady)
        finally:
            await dispatcher.stop()
            await gateway.aclose()
            await close_database()
    p50 = statistics.median(late) if late else float("nan")
    p99 = late[int(len(late) * 0.99) - 1] if late else float("nan")
    print(f"2. lateness at 80 % of a {cap:.0f}/s cap, {count} messages over {window_s:.0f} s")
    print(f"   sent {len(late)}/{count}; p50 {p50:.3f} s, p99 {p99:.3f} s, max {late[-1]:.3f} s")
    print(
        f"   above the cap (2x offered): {segments / took:.1f} segments/s = "
        f"{segments / took / cap * 100:.1f} % of the cap"
    )


async def bench_recovery(url: str) -> None:
    import subprocess
    import sys

    from service.actions.participants import sync_sites
    from service.composition import build_runtime
    from service.db.lifecycle import close_database
    from service.db.models import OutboundMessage
    from tests.faults.test_outbox_faults import ROOT, worker_env
    from tests.support.fakes.twilio_server import TwilioFakeServer

    with TwilioFakeServer() as server:
        server.delay_s = 0.5  # sends in flight when the process dies
        rt = build_runtime(_settings(url), clock=None)
        await _fresh(url)
        try:
            await sync_sites(rt)
            from service.actions.outbox import replan_if_protocol_changed

            await replan_if_protocol_changed(rt)
            now = datetime.now(UTC)
            await _seed(400, [now] * 400)
            env = worker_env(url, server, FAULT_TWILIO_TIMEOUT_S="5")

            def start() -> subprocess.Popen[bytes]:
                return subprocess.Popen(
                    [sys.executable, "-m", "tests.support.worker_process"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )

            survivor = start()  # already running, as the other worker is in production
            victim = start()
            deadline = time.perf_counter() + 20
            while time.perf_counter() < deadline:
                if await OutboundMessage.filter(status="sending").exists():
                    break
                await asyncio.sleep(0.02)
            victim.send_signal(signal.SIGKILL)
            victim.wait(5)
            killed = time.perf_counter()
            held = list(await OutboundMessage.filter(status="sending").values_list("id", flat=True))
            try:
                settled = None
                while time.perf_counter() < killed + 60:
                    if not await OutboundMessage.filter(id__in=held, status="sending").exists():
                        settled = time.perf_counter() - killed
                        break
                    await asyncio.sleep(0.05)
            finally:
                survivor.send_signal(signal.SIGTERM)
                survivor.wait(10)
            journal = server.journal
            sent = await OutboundMessage.filter(status="sent").count()
        finally:
            await close_database()
    texts = {(e.to, e.body) for e in journal}
    print(f"3. recovery after kill -9 with {len(held)} rows claimed by the dead process")
    after = "never (60 s)" if settled is None else f"{settled:.1f} s"
    print(f"   settled by the other process after {after}")
    print(f"   (lease 6 s, heartbeat 1.5 s; {sent} sent, {len(journal) - len(texts)} duplicates)")


async def bench_replan(url: str, count: int) -> None:
    from dataclasses import replace

    from service.actions.outbox import desired_messages, replan_if_protocol_changed
    from service.actions.participants import sync_sites
    from service.composition import build_runtime
    from service.db.lifecycle import close_database
    from service.db.models import OutboundMessage, Participant, Site
    from service.ports import ManualClock

    rt = build_runtime(_settings(url), clock=ManualClock(NOW - timedelta(days=200)))
    await _fresh(url)
    try:
        await sync_sites(rt)
        site = await Site.get(code="CUA")
        rng = random.Random(7)
        await Participant.bulk_create(
            [
                Participant(
                    study_id=f"R{n:05d}",
                    site=site,
                    phone=f"+5697{n:07d}",
                    timezone="America/Santiago",
                    can_become_pregnant=rng.random() < 0.6,
                    baseline_infusion_date=date(2026, 3, 1) + timedelta(days=rng.randrange(0, 400)),
                    sms_consent=True,
                )
                for n in range(count)
            ],
            batch_size=1000,
        )
        people = await Participant.all()
        start = time.perf_counter()
        for participant in people:
            await desired_messages(rt, participant, rt.clock.now())
        pure = time.perf_counter() - start
        start = time.perf_counter()
        await replan_if_protocol_changed(rt)
        first = time.perf_counter() - start
        rows = await OutboundMessage.all().count()
        rt = replace(
            rt, protocol=replace(rt.protocol, revision="bench-" + rt.protocol.revision[6:])
        )
        start = time.perf_counter()
        await replan_if_protocol_changed(rt)
        changed = time.perf_counter() - start
        start = time.perf_counter()
        assert await replan_if_protocol_changed(rt) == 0
        again = time.perf_counter() - start
    finally:
        await close_database()
    print(f"4. start-up re-planning of {count} participants ({rows} message rows)")
    print(f"   baseline: planning alone (reads included) {pure:8.1f} s")
    print(f"   first plan (all rows inserted)             {first:8.1f} s = {first / pure:.1f}x")
    print(f"   new revision, same plan (reads, no writes) {changed:8.1f} s = {changed / pure:.1f}x")
    print(f"   same revision again (another process)      {again:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--cap", type=float, default=50.0)
    parser.add_argument("--window-s", type=float, default=20.0)
    parser.add_argument("--only", choices=["drain", "lateness", "recovery", "replan"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"== {backend}, {os.cpu_count()} cores (shared with other work: figures under load)")
        if args.only in (None, "drain"):
            asyncio.run(bench_drain(url, args.messages, args.latency_ms / 1000))
        if args.only in (None, "lateness"):
            asyncio.run(bench_lateness(url, args.cap, args.window_s))
        if args.only in (None, "recovery") and url.startswith("postgres"):
            asyncio.run(bench_recovery(url))
        if args.only in (None, "replan"):
            asyncio.run(bench_replan(url, args.participants))


if __name__ == "__main__":
    main()
