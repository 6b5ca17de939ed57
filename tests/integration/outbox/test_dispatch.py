"""The dispatcher against the database: idempotent enqueueing, exactly-once claims with
concurrent dispatchers, who may still be written to at send time, the worker."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from service.actions import outbox
from service.actions.outbox import dispatch_due, enqueue_now, next_due_at
from service.actions.outbox._dispatch import CLAIM_SQL_POSTGRES, CLAIM_SQL_SQLITE
from service.actions.participants import EnrollmentRequest, enroll, sync_sites
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant
from service.domain.actors import Actor
from service.domain.states import StaffRole
from service.jobs.dispatcher import STOP_GRACE_S, Dispatcher
from service.ports import ManualClock, SystemClock
from service.runtime import Runtime
from service.settings import Settings
from service.worker import run_worker
from tests.support.fakes.gateways import RecordingGateway

ADMIN = Actor(kind="staff", label="staff:test@uandes.cl", role=StaffRole.ADMIN)
PHONE = "+56961234567"


@pytest.fixture
def gateway() -> RecordingGateway:
    return RecordingGateway()


@pytest.fixture
async def rt(
    db: None, settings: Settings, clock: ManualClock, gateway: RecordingGateway
) -> Runtime:
    runtime = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(runtime)
    return runtime


async def enrol(rt: Runtime, study_id: str = "MSC-001", **changes: Any) -> Participant:
    request: dict[str, Any] = {
        "study_id": study_id,
        "site": "CUA",
        "phone": PHONE,
        "can_become_pregnant": False,
        "baseline_infusion_date": date(2027, 1, 20),
        "sms_consent": True,
    }
    request.update(changes)
    return await enroll(rt, ADMIN, EnrollmentRequest(**request))


async def alert(
    rt: Runtime, n: int, participant: Participant | None = None, to: str | None = None
) -> OutboundMessage:
    return await enqueue_now(
        rt,
        participant=participant,
        to_phone=to or f"+569800{n:05d}",
        kind="alert",
        purpose="alert:oncall",
        occurrence=str(n),
        message_key="alert.oncall",
        params={"study_id": "MSC-001", "site_code": "CUA", "summary": "fiebre 38,5"},
        language="es",
        expires_in=timedelta(hours=1),
    )


async def reply(rt: Runtime, participant: Participant, key: str, n: int = 0) -> OutboundMessage:
    return await enqueue_now(
        rt,
        participant=participant,
        kind="reply",
        purpose=f"reply:{key}",
        occurrence=f"SMtest:{n}",
        message_key=key,
        params={},
        language="es",
        expires_in=timedelta(hours=2),
    )


async def test_enqueue_is_idempotent_and_the_dispatcher_sends_once(
    rt: Runtime, gateway: RecordingGateway
) -> None:
    participant = await enrol(rt)
    first = await reply(rt, participant, "inbound.received")
    again = await reply(rt, participant, "inbound.received")
    assert again.id == first.id
    assert first.dedupe_key == f"{participant.id}:reply:inbound.received:SMtest:0"

    await dispatch_due(rt)
    await dispatch_due(rt)
    sent = await OutboundMessage.get(id=first.id)
    resent = await OutboundMessage.get(id=again.id)

    assert sent.status == resent.status == "sent"
    assert sent.attempts == 1 and sent.provider_id == resent.provider_id
    ours = [m for m in gateway.sent if m.body == sent.body and m.validity_period_s == 7200]
    assert len(ours) == 1  # the enrolment's own due reminder may go out in the same pass
    out = ours[0]
    assert out.to == PHONE and "MSC-ROLE" in out.body
    assert out.status_callback == "http://testserver.local/webhooks/twilio/status"
    assert out.validity_period_s == 7200  # expires_in two hours
    assert sent.encoding in ("GSM-7", "UCS-2") and (sent.segments or 0) >= 1
    entry = await AuditEntry.get(action="message.sent", entity_id=str(sent.id))
    assert PHONE not in str(entry.changes) and "MSC-ROLE" not in str(entry.changes)


async def test_two_dispatchers_at_once_send_each_message_exactly_once(rt: Runtime) -> None:
    gateway = RecordingGateway(delay_s=0.01)  # long enough that both overlap on a busy machine
    rt = dataclasses.replace(rt, gateway=gateway)
    rows = [await alert(rt, n) for n in range(40)]

    first, second = await asyncio.gather(dispatch_due(rt, limit=5), dispatch_due(rt, limit=5))

    assert first.claimed + second.claimed == 40
    assert first.claimed and second.claimed, "both dispatchers should have taken part"
    assert len(gateway.sent) == 40
    assert len({s.to for s in gateway.sent}) == 40
    statuses = await OutboundMessage.filter(id__in=[r.id for r in rows]).values_list(
        "status", "attempts"
    )
    assert set(statuses) == {("sent", 1)}


async def test_a_claim_takes_no_more_than_its_limit_whatever_the_statistics(
    rt: Runtime, clock: ManualClock
) -> None:
    """With statistics of one live row in 77 pages (a small table analysed after many
    deletions), PostgreSQL's planner chose a nested-loop semi-join that re-ran a LIMITed
    ``id IN (subquery)`` for every row it updated: one claim of 5 took all 40."""
    for n in range(40):
        await alert(rt, n)
    now = clock.now()
    async with in_transaction() as conn:
        postgres = conn.capabilities.dialect == "postgres"
        if postgres:  # those statistics, for this transaction only (a superuser's)
            await conn.execute_script(
                "UPDATE pg_class SET reltuples = 1, relpages = 77"
                " WHERE oid = 'outbound_message'::regclass"
            )
        sql = CLAIM_SQL_POSTGRES if postgres else CLAIM_SQL_SQLITE
        await conn.execute_query(sql, ["five", now, 5, now + timedelta(minutes=5)])

    assert await OutboundMessage.filter(claim_token="five", status="sending").count() == 5
    assert await OutboundMessage.filter(status="planned").count() == 35


async def test_postgres_skip_locked_lets_a_second_dispatcher_pass_locked_rows(
    rt: Runtime, database_url: str, gateway: RecordingGateway, clock: ManualClock
) -> None:
    """A second dispatcher on its own connection holds a claim open (rows locked, not
    committed); ours must neither wait for it nor take any of its rows."""
    if not database_url.startswith("postgres"):
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    import asyncpg

    rows = [await alert(rt, n) for n in range(20)]
    other = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        transaction = other.transaction()
        await transaction.start()
        locked = {
            r["id"]
            for r in await other.fetch(
                CLAIM_SQL_POSTGRES, "other", clock.now(), 8, clock.now() + timedelta(minutes=5)
            )
        }
        assert len(locked) == 8

        counts = await asyncio.wait_for(dispatch_due(rt, limit=100), timeout=5)

        await transaction.commit()
    finally:
        await other.close()
    ours = set(await OutboundMessage.filter(status="sent").values_list("id", flat=True))
    assert counts.claimed == counts.sent == 12
    assert ours.isdisjoint(locked) and ours | locked == {r.id for r in rows}
    assert len(gateway.sent) == 12
    held = await OutboundMessage.filter(id__in=list(locked)).values_list("status", "claim_token")
    assert set(held) == {("sending", "other")}


async def test_reminders_are_rechecked_at_send_time(
    rt: Runtime, gateway: RecordingGateway, clock: ManualClock
) -> None:
    participant = await enrol(rt)
    reminder = await OutboundMessage.filter(kind="reminder", status="planned").order_by("send_at")
    row = reminder[0]
    # Paused after planning, before sending (no re-plan ran in between).
    await Participant.filter(id=participant.id).update(paused=True)
    clock.set(row.send_at)
    answer = await reply(rt, participant, "help.reply")

    counts = await dispatch_due(rt)

    await row.refresh_from_db()
    await answer.refresh_from_db()
    assert row.status == "cancelled" and row.error_detail
    assert answer.status == "sent"  # replies go out despite a pause
    assert counts.skipped >= 1 and [s.body for s in gateway.sent] == [answer.body]


async def test_nothing_but_the_confirmation_reaches_an_opted_out_phone(
    rt: Runtime, gateway: RecordingGateway
) -> None:
    participant = await enrol(rt)
    await Participant.filter(id=participant.id).update(opted_out=True)
    refused = await reply(rt, participant, "inbound.received", 0)
    confirmation = await reply(rt, participant, "optout.confirm", 1)
    staff_alert = await alert(rt, 1, participant=participant, to="+56980001111")

    await dispatch_due(rt)

    statuses = {
        row.message_key: row.status
        for row in await OutboundMessage.filter(
            id__in=[refused.id, confirmation.id, staff_alert.id]
        )
    }
    assert statuses == {
        "inbound.received": "cancelled",
        "optout.confirm": "sent",
        "alert.oncall": "sent",  # staff numbers always get alerts
    }
    assert sorted(s.to for s in gateway.sent) == sorted([PHONE, "+56980001111"])

    await Participant.filter(id=participant.id).update(sms_blocked_code=21610)
    blocked = await reply(rt, participant, "optout.confirm", 2)
    await dispatch_due(rt)
    assert (await OutboundMessage.get(id=blocked.id)).status == "cancelled"


async def test_a_message_that_cannot_be_rendered_fails_alone(
    rt: Runtime, gateway: RecordingGateway
) -> None:
    participant = await enrol(rt)
    broken = await enqueue_now(
        rt,
        participant=participant,
        kind="reply",
        purpose="reply:broken",
        occurrence="1",
        message_key="visit.confirmed",  # needs {visit} and {date}: no params given
        params={},
        language="es",
        expires_in=timedelta(hours=1),
    )
    fine = await alert(rt, 7)

    counts = await dispatch_due(rt)

    await broken.refresh_from_db()
    await fine.refresh_from_db()
    assert broken.status == "failed" and (broken.error_detail or "").startswith("render:")
    assert fine.status == "sent" and counts.failed == 1
    assert await AuditEntry.filter(action="message.failed", entity_id=str(broken.id)).exists()


async def test_dispatch_logs_counts_never_phones_or_bodies(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    row = await alert(rt, 3)
    with caplog.at_level(logging.DEBUG, logger="service"):
        await dispatch_due(rt)
    await row.refresh_from_db()
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("service"))
    assert "sent=1" in text
    assert row.to_phone and row.body
    assert row.to_phone not in text and row.body not in text


@pytest.fixture
async def live_rt(
    db: None, settings: Settings, gateway: RecordingGateway
) -> AsyncIterator[Runtime]:
    runtime = build_runtime(settings, clock=SystemClock(), gateway=gateway)
    await sync_sites(runtime)
    yield runtime


async def test_worker_dispatches_until_stopped(
    live_rt: Runtime, settings: Settings, gateway: RecordingGateway
) -> None:
    row = await alert(live_rt, 5)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, runtime=live_rt, stop=stop))
    try:
        for _ in range(1000):  # 20 s for a loaded machine; 0.6 s is usual
            await asyncio.sleep(0.02)
            if gateway.sent:
                break
    finally:
        stop.set()
        # The dispatcher may finish its pass for STOP_GRACE_S; a loaded machine adds to
        # that the start-up the stop may have interrupted and the pool's close.
        await asyncio.wait_for(worker, timeout=STOP_GRACE_S + 25)
    assert [s.to for s in gateway.sent] == [row.to_phone]


async def _until_sent(row: OutboundMessage, seconds: float) -> None:
    for _ in range(int(seconds * 100)):
        await asyncio.sleep(0.01)
        if await OutboundMessage.filter(id=row.id, status="sent").exists():
            return


async def test_the_dispatcher_wakes_at_the_next_due_row_not_the_interval(
    live_rt: Runtime, gateway: RecordingGateway
) -> None:
    row = await alert(live_rt, 1)
    due = live_rt.clock.now() + timedelta(seconds=0.3)
    await OutboundMessage.filter(id=row.id).update(send_at=due)
    assert await next_due_at(live_rt) == due
    dispatcher = Dispatcher(live_rt, interval_s=30)
    await dispatcher.start()
    try:
        await _until_sent(row, 10.0)
    finally:
        await dispatcher.stop()
    await row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None
    # Woken by the row, not the 30 s interval; 10 s of slack for a loaded machine.
    assert due <= row.sent_at < due + timedelta(seconds=10)


async def test_a_wake_after_commit_sends_at_once(
    live_rt: Runtime, gateway: RecordingGateway
) -> None:
    dispatcher = Dispatcher(live_rt, interval_s=30)
    await dispatcher.start()
    try:
        await asyncio.sleep(0.05)  # idle: nothing is due, the loop sleeps for 30 s
        row = await alert(live_rt, 2)
        outbox.wake(live_rt)
        await _until_sent(row, 1.0)
    finally:
        await dispatcher.stop()
    await row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None
    assert row.sent_at - row.created_at < timedelta(seconds=0.5)


async def test_a_notify_from_another_process_wakes_the_dispatcher(
    live_rt: Runtime, settings: Settings, gateway: RecordingGateway, database_url: str
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    dispatcher = Dispatcher(live_rt, interval_s=30)
    await dispatcher.start()
    other = build_runtime(settings, clock=SystemClock(), gateway=gateway)  # wakes nobody
    try:
        await asyncio.sleep(0.1)  # idle: the loop sleeps for 30 s
        async with in_transaction():
            row = await alert(other, 9)
            await asyncio.sleep(0.3)  # not before the commit
            assert not await OutboundMessage.filter(id=row.id, status="sent").exists()
        await _until_sent(row, 1.0)
    finally:
        await dispatcher.stop()
    await row.refresh_from_db()
    assert row.status == "sent"


async def test_pipelined_batches_count_every_send(rt: Runtime, gateway: RecordingGateway) -> None:
    gateway.delay_s = 0.005  # batches overlap: one sends while the next is claimed
    rows = [await alert(rt, n) for n in range(250)]
    counts = await dispatch_due(rt, limit=40)
    assert counts.claimed == counts.sent == len(gateway.sent) == len(rows)
    assert await OutboundMessage.filter(status="sent").count() == len(rows)


async def test_the_listen_connection_reconnects_after_the_database_drops_it(
    live_rt: Runtime, settings: Settings, gateway: RecordingGateway, database_url: str
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    dispatcher = Dispatcher(live_rt, interval_s=30)
    await dispatcher.start()
    other = build_runtime(settings, clock=SystemClock(), gateway=gateway)  # wakes nobody
    try:
        first = dispatcher._listener
        assert first is not None
        conn = connections.get("default")
        await conn.execute_query("SELECT pg_terminate_backend($1)", [first.get_server_pid()])
        for _ in range(100):  # LISTEN_CHECK_S is 1 s; 10 s of slack on a loaded machine
            await asyncio.sleep(0.1)
            if dispatcher._listener not in (None, first):
                break
        assert dispatcher._listener not in (None, first)
        await asyncio.sleep(0.3)  # the pass the reconnect triggered is over; idle again
        async with in_transaction():
            row = await alert(other, 9)
        await _until_sent(row, 2.0)
    finally:
        await dispatcher.stop()
    await row.refresh_from_db()
    assert row.status == "sent"
