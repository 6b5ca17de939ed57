"""Benchmark: planning for 10,000 participants, and draining 10,000 due messages.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_reminders [--participants 10000] [--messages 10000]

Each figure is printed next to a baseline measured in the same run on the same
machine, so the ratio means something even when the machine is busy:

- planning: calendars + reminders + check-in prompts per participant, against
  building the calendars alone;
- draining: due rows claimed, rendered and sent through the official twilio SDK
  (TwilioSmsGateway) to the local Twilio-compatible server, recorded back in the
  database, against bare sequential HTTP POSTs of the same form to the same server.

Set BENCH_DATABASE_URL=postgres://… to drain against PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp

from service.adapters.holidays_cl import chile_non_working_day
from service.domain.calendar import build_calendar
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.daily_budget import apply_daily_budget
from service.domain.protocol_loader import load_protocol
from service.domain.reminders import plan_visit_reminders
from service.settings import REPO_ROOT

NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)


def _participants(count: int, seed: int = 7) -> list[tuple[date, date | None, bool]]:
    rng = random.Random(seed)
    people = []
    for _ in range(count):
        baseline = date(2026, 3, 1) + timedelta(days=rng.randrange(0, 400))
        second = baseline + timedelta(days=rng.randrange(170, 215)) if rng.random() < 0.5 else None
        people.append((baseline, second, rng.random() < 0.6))
    return people


def bench_planning(count: int) -> None:
    protocol = load_protocol(REPO_ROOT / "schedules" / "msc-role.toml")
    people = _participants(count)

    start = time.perf_counter()
    for baseline, second, _ in people:
        build_calendar(protocol, baseline, second, chile_non_working_day)
    calendars_only = time.perf_counter() - start

    start = time.perf_counter()
    messages = 0
    plans = []
    for baseline, second, pregnant in people:
        calendar = build_calendar(protocol, baseline, second, chile_non_working_day)
        reminders = plan_visit_reminders(
            calendar,
            protocol.reminders,
            timezone="America/Santiago",
            quiet=protocol.quiet_hours,
            preferred_time=None,
            now=NOW,
        )
        checkins = plan_checkin_prompts(
            protocol.checkins,
            baseline=baseline,
            second_infusion=second,
            follow_up_end=max(v.window_end for v in calendar),
            can_become_pregnant=pregnant,
            timezone="America/Santiago",
            quiet=protocol.quiet_hours,
            preferred_time=None,
            now=NOW,
        )
        messages += len(reminders) + len(checkins)
        plans.append(reminders + checkins)
    full = time.perf_counter() - start
    budget = protocol.daily_budget
    start = time.perf_counter()
    moved_or_dropped = 0
    if budget is not None:
        for plan in plans:
            kept, dropped = apply_daily_budget(
                plan, budget, timezone="America/Santiago", quiet=protocol.quiet_hours, now=NOW
            )
            moved_or_dropped += len(dropped) + sum(m.budget is not None for m in kept)
    budgeted = time.perf_counter() - start
    print(f"planning, {count} participants ({messages} messages planned)")
    print(f"  baseline: calendars only          {count / calendars_only:10.0f} participants/s")
    print(f"  calendars + reminders + check-ins {count / full:10.0f} participants/s")
    print(f"  ratio (full / baseline time)      {full / calendars_only:10.2f}x")
    print(f"  + daily budget ({moved_or_dropped} moved or dropped)")
    print(f"    budget alone                    {count / budgeted:10.0f} participants/s")
    print(f"    ratio (full + budget / full)    {(full + budgeted) / full:10.2f}x")


async def _bare_posts(base_url: str, account_sid: str, token: str, count: int) -> float:
    url = f"{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
    headers = {"Authorization": aiohttp.encode_basic_auth(account_sid, token)}
    async with aiohttp.ClientSession(headers=headers) as session:
        start = time.perf_counter()
        for n in range(count):
            form = {
                "To": f"+5696{n % 10_000_000:07d}",
                "Body": "MSC-ROLE: recordatorio de prueba",
                "MessagingServiceSid": "MG" + "0" * 32,
                "StatusCallback": "http://127.0.0.1:1/webhooks/twilio/status",
            }
            async with session.post(url, data=form) as response:
                await response.read()
        return time.perf_counter() - start


async def _seed_due_rows(count: int) -> None:
    from service.db.models import OutboundMessage, Participant, Site

    site = await Site.get(code="CUA")
    participants = [
        Participant(
            study_id=f"B{n:05d}",
            site=site,
            phone=f"+5696{n:07d}",
            timezone="America/Santiago",
            can_become_pregnant=False,
            baseline_infusion_date=date(2026, 9, 1),
            sms_consent=True,
        )
        for n in range(count)
    ]
    await Participant.bulk_create(participants, batch_size=1000)
    ids = [p.id for p in await Participant.all().only("id")]
    rows = [
        OutboundMessage(
            participant_id=pid,
            kind="reminder",
            purpose="reminder:clinic_7d",
            occurrence=f"M7@2027-03-0{1 + n % 8}",
            dedupe_key=f"{pid}:reminder:clinic_7d:bench",
            message_key="reminder.clinic.week_before",
            params={"visit_code": "M7", "visit_date": "2027-03-08"},
            language="es",
            send_at=NOW - timedelta(minutes=5),
            expires_at=NOW + timedelta(days=2),
            created_at=NOW,
            updated_at=NOW,
        )
        for n, pid in enumerate(ids)
    ]
    await OutboundMessage.bulk_create(rows, batch_size=1000)


async def bench_drain(count: int) -> None:
    from service.actions.outbox import dispatch_due
    from service.actions.participants import sync_sites
    from service.adapters.twilio_sms import TwilioSmsGateway
    from service.composition import build_runtime
    from service.db.lifecycle import apply_migrations, close_database, open_database
    from service.ports import ManualClock
    from service.settings import load_settings
    from tests.support.fakes.twilio_server import (
        TEST_ACCOUNT_SID,
        TEST_AUTH_TOKEN,
        TEST_MESSAGING_SERVICE_SID,
        TwilioFakeServer,
    )

    with tempfile.TemporaryDirectory() as folder, TwilioFakeServer() as server:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-secret-key-0123456789-0123456789",
                "SMS_RATE_PER_SECOND": "0",
            }
        )
        gateway = TwilioSmsGateway(
            TEST_ACCOUNT_SID,
            TEST_AUTH_TOKEN,
            messaging_service_sid=TEST_MESSAGING_SERVICE_SID,
            api_base_url=server.base_url,
        )
        rt = build_runtime(settings, gateway=gateway, clock=ManualClock(NOW))
        await open_database(url)
        try:
            await apply_migrations()
            await sync_sites(rt)
            await _seed_due_rows(count)
            baseline = await _bare_posts(server.base_url, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, count)
            server.reset()
            start = time.perf_counter()
            sent = 0
            while True:
                counts = await dispatch_due(rt, limit=500)
                sent += counts.sent
                if counts.claimed == 0:
                    break
            elapsed = time.perf_counter() - start
        finally:
            await gateway.aclose()
            await close_database()
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"draining {count} due messages ({backend}, twilio SDK -> local server)")
    print(f"  baseline: bare HTTP POSTs         {count / baseline:10.0f} requests/s")
    print(f"  dispatcher (claim/render/send/record) {sent / elapsed:6.0f} messages/s ({sent} sent)")
    print(f"  ratio (dispatcher / bare)         {(sent / elapsed) / (count / baseline):10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    bench_planning(args.participants)
    asyncio.run(bench_drain(args.messages))


if __name__ == "__main__":
    main()
