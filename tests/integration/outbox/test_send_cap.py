"""The send cap is one bucket in the database, shared by every process, in segments."""

from __future__ import annotations

from datetime import timedelta

from service.actions.outbox import SendCap, dispatch_due, enqueue_now
from service.actions.participants import sync_sites
from service.composition import build_runtime
from service.db.models import OutboundMessage
from service.ports import ManualClock, SmsGateway
from service.settings import Settings


async def test_two_processes_share_one_bucket(db: None, clock: ManualClock) -> None:
    here, there = SendCap(10), SendCap(10)  # two processes, one database
    now = clock.now()
    assert (await here.take(8, now)).tokens == 8
    second = await there.take(8, now)
    assert second.tokens == 2  # not 8: the cap is the account's, not the process's
    empty = await here.take(1, now)
    assert empty.tokens == 0 and abs(empty.wait_s - 0.1) < 1e-9
    assert (await there.take(10, now + timedelta(seconds=0.5))).tokens == 5


async def test_extra_segments_are_charged_and_unused_tokens_given_back(
    db: None, clock: ManualClock
) -> None:
    cap, now = SendCap(10), clock.now()
    assert (await cap.take(10, now)).tokens == 10
    await cap.adjust(4, now)  # claimed only six rows: four back
    await cap.adjust(-3, now)  # three of the six were two segments long
    assert (await cap.take(10, now)).tokens == 1
    waiting = await cap.take(1, now)
    assert waiting.tokens == 0 and waiting.wait_s > 0


async def test_unlimited_stores_nothing(db: None, clock: ManualClock) -> None:
    grant = await SendCap(0).take(500, clock.now())
    assert (grant.tokens, grant.wait_s) == (500, 0.0)


async def test_the_dispatcher_takes_tokens_before_it_claims(
    db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway
) -> None:
    rt = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(rt)
    for n in range(12):
        await enqueue_now(
            rt,
            participant=None,
            to_phone=f"+569800{n:05d}",
            kind="alert",
            purpose="alert:cap",
            occurrence=str(n),
            message_key="alert.oncall",
            params={"study_id": "MSC-001", "site_code": "CUA", "summary": "x"},
            language="es",
            expires_in=timedelta(hours=1),
        )
    counts = await dispatch_due(rt, cap=SendCap(5))
    assert counts.claimed == 5 and counts.cap_wait_s > 0  # the rest stay planned, unclaimed
    assert await OutboundMessage.filter(status="planned").count() == 7
    assert not await OutboundMessage.filter(status="sending").exists()


async def test_a_safety_alert_never_waits_behind_reminders(
    db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway
) -> None:
    rt = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(rt)
    await OutboundMessage.bulk_create(
        [
            OutboundMessage(
                to_phone=f"+569810{n:05d}",
                kind="reminder",
                purpose="reminder:wave",
                occurrence=str(n),
                dedupe_key=f"staff:reminder:wave:{n}",
                message_key="inbound.received",
                params={"site_code": "CUA"},
                send_at=clock.now() - timedelta(hours=1),  # due long before the alert
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            for n in range(30)
        ]
    )
    alert = await enqueue_now(
        rt,
        participant=None,
        to_phone="+56980000001",
        kind="alert",
        purpose="alert:first",
        occurrence="1",
        message_key="alert.oncall",
        params={"study_id": "MSC-001", "site_code": "CUA", "summary": "x"},
        language="es",
        expires_in=timedelta(hours=1),
    )
    counts = await dispatch_due(rt, cap=SendCap(1))  # room for one message
    await alert.refresh_from_db()
    assert counts.claimed == 1 and alert.status in ("sent", "delivered")
