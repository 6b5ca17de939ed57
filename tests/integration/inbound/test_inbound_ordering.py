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
from tests.support.helpers import Client, enrollment, staff_headers
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


async def test_after_a_burst_the_numbers_are_read_in_turn(client: Client) -> None:
    """The process's reader takes one message of each number in turn (decision 0120):
    the first message of the second number is not left behind all of the first's,
    while each number's own messages keep their order."""
    from service.actions.inbound import store_inbound
    from service.actions.inbound._handle import read_offered
    from service.ports import InboundSms

    other = "+56961234568"
    admin = await staff_headers(client, "admin@uandes.cl", "admin")
    for study_id, phone in (("MSC-001", PHONE), ("MSC-002", other)):
        body = enrollment(study_id=study_id, phone=phone)
        response = await client.post("/api/v1/participants", json=body, headers=admin)
        assert response.status_code == 201, response.text
    rt = client.app.state.runtime
    for n, phone in enumerate((PHONE, PHONE, PHONE, other, other)):
        await store_inbound(rt, InboundSms(f"SMturn{n:028d}", phone, "+15005550006", "hola"))
    assert rt.inbox.offer(PHONE) is True  # its webhook reads ...
    assert rt.inbox.offer(other) is False  # ... and the second number waits in line
    await read_offered(rt)
    by_id = {m.id: m for m in await InboundMessage.all()}
    understood = await AuditEntry.filter(action="sms.inbound").order_by("id")
    assert [
        (by_id[int(str(e.entity_id))].from_phone, by_id[int(str(e.entity_id))].message_sid[-1])
        for e in understood
    ] == [(PHONE, "0"), (other, "3"), (PHONE, "1"), (other, "4"), (PHONE, "2")]


async def test_two_readers_of_one_process_keep_each_numbers_order(client: Client) -> None:
    """Two readers a process (PostgreSQL's number, run here on either database): every
    message understood once, and each number's in the order stored."""
    from service.actions.inbound import store_inbound
    from service.actions.inbound._handle import read_offered
    from service.ports import InboundSms

    admin = await staff_headers(client, "admin@uandes.cl", "admin")
    phones = [f"+5696123456{n}" for n in range(3)]
    for n, phone in enumerate(phones):
        body = enrollment(study_id=f"MSC-00{n + 1}", phone=phone)
        response = await client.post("/api/v1/participants", json=body, headers=admin)
        assert response.status_code == 201, response.text
    rt = client.app.state.runtime
    for n in range(12):
        sms = InboundSms(f"SMtwo{n:029d}", phones[n % 3], "+15005550006", "hola")
        await store_inbound(rt, sms)
    assert [rt.inbox.offer(phone, readers=2) for phone in phones] == [True, True, False]
    await asyncio.gather(read_offered(rt), read_offered(rt))
    assert await InboundMessage.filter(handling="pending").count() == 0
    understood = await AuditEntry.filter(action="sms.inbound").order_by("id")
    ids = [int(str(e.entity_id)) for e in understood]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 12  # each once
    by_id = {m.id: m.from_phone for m in await InboundMessage.all()}
    for phone in phones:
        theirs = [i for i in ids if by_id[i] == phone]
        assert theirs == sorted(theirs)
    assert rt.inbox.offer(phones[0], readers=2) is True  # both readers have stopped
