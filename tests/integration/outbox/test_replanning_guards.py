"""Re-planning respects a dispatcher's claim.

A re-plan changes a row only while it is still as it was read (same status, same
version; a claim bumps both), writes only the fields that changed, and a re-plan
that changes nothing writes nothing — due rows included, whose "send now" is no
change. Start-up re-planning runs once however many processes start.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from tortoise import connections

from service.actions.outbox import replan_if_protocol_changed, replan_participant
from service.actions.outbox._dispatch import CLAIM_SQL_POSTGRES, CLAIM_SQL_SQLITE
from service.actions.outbox._planner import _guarded_update
from service.actions.participants import EnrollmentRequest, enroll, sync_sites
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant, ServiceState
from service.domain.actors import SYSTEM, Actor
from service.domain.states import StaffRole
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings

ADMIN = Actor(kind="staff", label="staff:test@uandes.cl", role=StaffRole.ADMIN)


@pytest.fixture
async def rt(db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Runtime:
    runtime = build_runtime(settings, clock=clock, gateway=gateway)
    await sync_sites(runtime)
    return runtime


async def enrol(rt: Runtime, **changes: Any) -> Participant:
    request: dict[str, Any] = {
        "study_id": "MSC-001",
        "site": "CUA",
        "phone": "+56961234567",
        "can_become_pregnant": False,
        "baseline_infusion_date": date(2027, 1, 20),
        "sms_consent": True,
    }
    request.update(changes)
    return await enroll(rt, ADMIN, EnrollmentRequest(**request))


async def _snapshot() -> dict[int, tuple[Any, ...]]:
    rows = await OutboundMessage.all().values_list(
        "id", "status", "send_at", "version", "updated_at"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


async def _claim(rt: Runtime, token: str, limit: int) -> list[int]:
    conn = connections.get("default")
    sql = CLAIM_SQL_SQLITE if conn.capabilities.dialect == "sqlite" else CLAIM_SQL_POSTGRES
    now = rt.clock.now()
    await conn.execute_query(sql, [token, now, limit, now + timedelta(seconds=8)])
    return list(await OutboundMessage.filter(claim_token=token).values_list("id", flat=True))


async def test_a_replan_that_changes_nothing_writes_nothing(
    rt: Runtime, clock: ManualClock
) -> None:
    participant = await enrol(rt)
    assert await OutboundMessage.filter(status="planned", send_at__lte=clock.now()).exists()
    before = await _snapshot()
    audits = await AuditEntry.filter(action="messages.replan").count()
    clock.advance(minutes=5)  # the due row would get "send_at = now" again: no change

    assert await replan_participant(rt, participant, actor=SYSTEM) == 0

    assert await _snapshot() == before
    assert await AuditEntry.filter(action="messages.replan").count() == audits


async def test_a_replan_leaves_a_claimed_row_to_its_dispatcher(
    rt: Runtime, clock: ManualClock
) -> None:
    participant = await enrol(rt)
    (claimed,) = await _claim(rt, "dispatcher-a", 1)
    row = await OutboundMessage.get(id=claimed)
    # A change that moves every reminder, and withdrawal that cancels everything.
    participant.preferred_time = "15:30"
    await participant.save()
    await replan_participant(rt, participant, actor=SYSTEM)
    participant.status = "withdrawn"
    await participant.save()
    await replan_participant(rt, participant, actor=SYSTEM)

    after = await OutboundMessage.get(id=claimed)
    assert (after.status, after.claim_token, after.attempts, after.version) == (
        "sending",
        "dispatcher-a",
        row.attempts,
        row.version,
    )
    assert after.send_at == row.send_at
    others = await OutboundMessage.exclude(id=claimed).filter(status="planned").count()
    assert others == 0


async def test_a_write_from_rows_read_before_a_claim_changes_nothing(
    rt: Runtime, clock: ManualClock
) -> None:
    """A re-plan that read the rows, then lost the race to a claim, writes nothing."""
    await enrol(rt)
    read = await OutboundMessage.filter(status="planned").order_by("send_at")
    claimed = await _claim(rt, "dispatcher-b", 1)
    stale = [r for r in read if r.id in claimed]
    fresh = [r for r in read if r.id not in claimed][:1]

    assert await _guarded_update(stale, {"status": "cancelled"}, clock.now()) == 0
    assert await _guarded_update(fresh, {"status": "cancelled"}, clock.now()) == 1
    assert await _guarded_update(fresh, {"status": "planned"}, clock.now()) == 0  # version moved
    (row,) = await OutboundMessage.filter(id__in=claimed)
    assert row.status == "sending" and row.claim_token == "dispatcher-b"


async def test_start_up_replanning_runs_once_however_many_processes_start(
    rt: Runtime, settings: Settings, clock: ManualClock, gateway: SmsGateway
) -> None:
    await enrol(rt)
    await ServiceState.filter(key="protocol_revision").delete()
    others = [build_runtime(settings, clock=clock, gateway=gateway) for _ in range(3)]
    changed = await asyncio.gather(*(replan_if_protocol_changed(o) for o in [rt, *others]))
    assert sorted(changed)[:-1] == [0, 0, 0]
    assert (await ServiceState.get(key="protocol_revision")).value == rt.protocol.revision
