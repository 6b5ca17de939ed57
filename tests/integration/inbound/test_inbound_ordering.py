"""Per-number ordering holds across processes: two processes handle messages from one
phone at the same moment, some of them the same Twilio retries.

What interleaving would break, and is checked here: a retried MessageSid stored
twice (or a 500 from the unique index), and the hourly reply cap overshot (both
processes read "2 replies so far" and both answer).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

from service.actions.inbound._reply_cap import ACKNOWLEDGEMENTS_PER_HOUR
from service.db.models import AuditEntry, InboundMessage, OutboundMessage
from service.ports import ManualClock
from tests.support.helpers import Client
from tests.support.inbound_support import PHONE, enrol, settings

__all__ = ["settings"]  # fixture, imported for pytest to find

ROOT = Path(__file__).resolve().parents[3]


async def _racer(
    database_url: str, clock: ManualClock, first: int, last: int
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.inbound_racer",
        database_url,
        PHONE,
        clock.now().isoformat(),
        str(first),
        str(last),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
    return process


async def test_two_processes_racing_on_one_number(
    client: Client, database_url: str, clock: ManualClock
) -> None:
    await enrol(client)
    # 0..29 and 15..44: the middle fifteen reach both processes (Twilio retrying).
    racers = [
        await _racer(database_url, clock, 0, 30),
        await _racer(database_url, clock, 15, 45),
    ]
    for process in racers:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    totals: Counter[str] = Counter()
    for process in racers:
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0
        totals.update(json.loads(out.decode().strip().splitlines()[-1]))
    assert totals == {"queued": 45, "duplicate": 15}  # no error, each sid once
    assert await InboundMessage.all().count() == 45
    assert await OutboundMessage.filter(kind="reply").count() == ACKNOWLEDGEMENTS_PER_HOUR
    # Understood once each, in the order they were stored, whichever process read them.
    stored = await InboundMessage.all().order_by("id").values_list("id", flat=True)
    understood = await AuditEntry.filter(action="sms.inbound").order_by("id")
    assert [int(str(e.entity_id)) for e in understood] == list(stored)
