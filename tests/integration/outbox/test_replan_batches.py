"""Re-planning everyone for a new protocol revision, in short resumable batches.

The batches plan exactly what one participant at a time would; a run that dies
mid-way leaves a cursor that the next run continues from once the dead run's lease
lapses, re-planning nobody twice; a second process that finds the lease held returns
at once instead of waiting; and a revision that plans the same messages writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from service.actions.outbox import (
    _planner,
    _replan,
    desired_messages,
    replan_if_protocol_changed,
    replan_remaining,
    replan_run,
)
from service.actions.outbox._plan_rows import new_row
from service.composition import build_runtime
from service.db.models import AuditEntry, OutboundMessage, Participant, ServiceState
from service.ports import ManualClock, SmsGateway
from service.runtime import Runtime
from service.settings import Settings
from tests.support.replan_support import enrolled_study

PEOPLE = 9


@pytest.fixture
async def rt(db: None, settings: Settings, clock: ManualClock, gateway: SmsGateway) -> Runtime:
    return await enrolled_study(  # MSC-004 gets only in-app check-ins
        settings, clock, gateway, people=PEOPLE, phone_prefix="+5696123", consents=lambda n: n != 4
    )


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of two participants, whatever their duration: several batches for 9."""
    monkeypatch.setattr(_replan, "FIRST_BATCH", 2)
    monkeypatch.setattr(_replan, "MIN_BATCH", 2)
    monkeypatch.setattr(_replan, "MAX_BATCH", 2)


def revised(rt: Runtime, revision: str) -> Runtime:
    return replace(rt, protocol=replace(rt.protocol, revision=revision))


async def _forget_plans() -> None:
    """As before the first plan: no planned rows, no revision recorded."""
    await OutboundMessage.all().delete()
    await AuditEntry.filter(action="messages.replan").delete()
    await ServiceState.filter(key__in=["protocol_revision", "protocol_replan"]).delete()


async def _per_participant_plans(rt: Runtime) -> set[tuple[int, str, str]]:
    found = set()
    for person in await Participant.all():
        for m in await desired_messages(rt, person, rt.clock.now()):
            found.add((person.id, m.purpose, m.occurrence))
    return found


async def test_batches_plan_what_one_at_a_time_would(
    either_pace: None, rt: Runtime, small_batches: None
) -> None:
    wanted = await _per_participant_plans(rt)
    await _forget_plans()

    run = await replan_run(rt)

    rows = await OutboundMessage.all().values_list("participant_id", "purpose", "occurrence")
    assert set(rows) == wanted and len(rows) == len(wanted)
    assert (run.batches, run.participants, run.changed) == (5, PEOPLE, len(wanted))
    audited = await AuditEntry.filter(action="messages.replan").values_list("entity_id", flat=True)
    assert sorted(audited) == [f"MSC-{n:03d}" for n in range(PEOPLE)]
    assert (await ServiceState.get(key="protocol_revision")).value == rt.protocol.revision
    assert not await ServiceState.exists(key="protocol_replan")
    assert await replan_remaining(rt) == 0


async def test_a_revision_that_plans_the_same_messages_writes_nothing(
    rt: Runtime, small_batches: None
) -> None:
    before = await OutboundMessage.all().values_list("id", "version", "updated_at")
    newer = revised(rt, "a-newer-revision")
    assert await replan_remaining(newer) == PEOPLE

    run = await replan_run(newer)

    assert (run.participants, run.changed) == (PEOPLE, 0)
    assert await OutboundMessage.all().values_list("id", "version", "updated_at") == before
    assert (await ServiceState.get(key="protocol_revision")).value == "a-newer-revision"


async def test_a_run_that_dies_is_resumed_from_its_cursor_after_its_lease(
    either_pace: None,
    rt: Runtime,
    settings: Settings,
    clock: ManualClock,
    gateway: SmsGateway,
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wanted = await _per_participant_plans(rt)
    await _forget_plans()
    planned = 0
    real = _replan.compare_plan

    def dies_at_the_fifth(*args: Any) -> _planner.PlanSync:
        nonlocal planned
        planned += 1
        if planned == 5:  # the third batch: two batches committed, this one rolls back
            raise RuntimeError("killed")
        return real(*args)

    monkeypatch.setattr(_replan, "compare_plan", dies_at_the_fifth)
    with pytest.raises(RuntimeError):
        await replan_if_protocol_changed(rt)
    monkeypatch.setattr(_replan, "compare_plan", real)
    assert await replan_remaining(rt) == PEOPLE - 4
    done = await AuditEntry.filter(action="messages.replan").count()
    assert done == 4

    # Another process while the dead run's lease holds: no waiting, nothing done.
    other = build_runtime(settings, clock=clock, gateway=gateway)
    run = await replan_run(other)
    assert run.busy and run.participants == 0
    assert await AuditEntry.filter(action="messages.replan").count() == done

    clock.advance(seconds=_replan.LEASE.total_seconds() + 1)
    run = await replan_run(other)

    assert run.participants == PEOPLE - 4  # from the cursor on, nobody twice
    rows = await OutboundMessage.all().values_list("participant_id", "purpose", "occurrence")
    assert set(rows) == wanted and len(rows) == len(wanted)
    audited = await AuditEntry.filter(action="messages.replan").values_list("entity_id", flat=True)
    assert sorted(audited) == [f"MSC-{n:03d}" for n in range(PEOPLE)]
    assert (await ServiceState.get(key="protocol_revision")).value == rt.protocol.revision


async def test_another_revisions_run_is_left_alone_while_alive_then_started_over(
    either_pace: None, rt: Runtime, clock: ManualClock, small_batches: None
) -> None:
    lease = (rt.clock.now() + timedelta(seconds=10)).isoformat()
    await ServiceState.create(
        key="protocol_replan",
        value=f"another-revision|999999|someone|{lease}",
        updated_at=rt.clock.now(),
    )
    await ServiceState.filter(key="protocol_revision").delete()
    assert (await replan_run(rt)).busy

    clock.advance(seconds=11)
    run = await replan_run(rt)

    assert not run.busy and run.participants == PEOPLE
    assert (await ServiceState.get(key="protocol_revision")).value == rt.protocol.revision


async def test_new_rows_are_built_as_the_orm_builds_them(rt: Runtime) -> None:
    """The re-plan's cheap constructor leaves an instance identical to the ORM's own."""
    now = rt.clock.now()
    values: dict[str, Any] = {
        "participant_id": 1,
        "kind": "reminder",
        "purpose": "reminder:V1:week_before",
        "occurrence": "1",
        "dedupe_key": "1:reminder:V1:week_before:1",
        "status": "planned",
        "skip_reason": None,
        "message_key": "reminder.clinic.week_before",
        "params": {"visit": "V1"},
        "language": "es",
        "send_at": now,
        "expires_at": now + timedelta(days=1),
        "revision": "r",
        "created_at": now,
        "updated_at": now,
    }
    built = new_row(**values)
    assert vars(built) == vars(OutboundMessage(**values))
    assert vars(new_row(**{**values, "status": "in_app"}))["status"] == "in_app"
