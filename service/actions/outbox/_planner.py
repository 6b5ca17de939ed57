"""Keeping a participant's planned messages in step with their calendar.

Called inside the transaction of every action that can move a visit or change who
may be messaged (enrolment, infusions, outcomes, preferences, withdrawal, opt-out),
and for everyone when the protocol file's revision changes.

The sync never touches a message that has left the building (sending, sent,
delivered, failed): it only adds rows, moves or cancels rows still ``planned`` (or
``in_app``: a check-in the app shows but SMS does not send), and revives
``cancelled`` rows that apply again. The unique (participant, purpose,
occurrence) key makes running it twice a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F

from service.actions.calendars import calendar_for, latest_outcomes
from service.actions.outbox._enqueue import notify_due
from service.actions.outbox._plan_rows import (
    Inserts,
    PlannedRow,
    PlanRows,
    new_row,
    read_plan_rows,
)
from service.db.models import AuditEntry, OutboundMessage, Participant
from service.domain import not_sent
from service.domain.actors import Actor
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.daily_budget import apply_daily_budget
from service.domain.identities import message_dedupe_key
from service.domain.reminders import PlannedMessage, parse_hhmm, plan_visit_reminders
from service.domain.states import AuditAction, MessageStatus
from service.runtime import Runtime

_SOON = timedelta(seconds=60)  # rows due this soon wake the dispatchers at commit
_CHUNK = 500  # rows per compare-and-set UPDATE (keeps the statement's parameters bounded)


def _skip_reason(plan: PlannedMessage, status: str, barrier: str | None) -> str | None:
    """What a row of ``plan`` records as the reason it will not go out by SMS."""
    if plan.dropped:
        return not_sent.BUDGET
    return barrier if status == "in_app" else None


async def desired_messages(
    rt: Runtime, participant: Participant, now: datetime, fixed: Iterable[datetime] = ()
) -> list[PlannedMessage]:
    """Reminders for people we may text; check-ins for every active participant.

    Check-ins are planned even for someone who cannot be texted (no consent, opted
    out, paused): they are then ``in_app`` rows, never sent, which the mobile app
    lists as due. Withdrawal ends both.
    """
    if not participant.active:
        return []
    recorded = frozenset((await latest_outcomes(participant.id)).keys())
    return plan_for(rt, participant, recorded, now, fixed)


def plan_for(
    rt: Runtime,
    participant: Participant,
    recorded: frozenset[str],
    now: datetime,
    fixed: Iterable[datetime] = (),
) -> list[PlannedMessage]:
    """:func:`desired_messages` from what was already read: no I/O, so a batch of
    participants is planned between two statements (``recorded``: the visit codes
    with an outcome)."""
    if not participant.active:
        return []
    calendar = calendar_for(rt, participant)
    preferred = parse_hhmm(participant.preferred_time)
    reminders = plan_visit_reminders(
        calendar,
        rt.protocol.reminders,
        timezone=participant.timezone,
        quiet=rt.protocol.quiet_hours,
        preferred_time=preferred,
        now=now,
        skip_codes=recorded,
    )
    end = max(visit.window_end for visit in calendar)
    checkins = plan_checkin_prompts(
        rt.protocol.checkins,
        baseline=participant.baseline_infusion_date,
        second_infusion=participant.second_infusion_date,
        follow_up_end=end,
        can_become_pregnant=participant.can_become_pregnant,
        timezone=participant.timezone,
        quiet=rt.protocol.quiet_hours,
        preferred_time=preferred,
        now=now,
    )
    planned = (reminders if not_sent.may_receive_sms(participant) else []) + checkins
    budget = rt.protocol.daily_budget
    if budget is None or not not_sent.may_receive_sms(participant):  # in-app rows ring no phone
        return planned
    kept, dropped = apply_daily_budget(
        planned,
        budget,
        timezone=participant.timezone,
        quiet=rt.protocol.quiet_hours,
        now=now,
        fixed=fixed,
    )
    return kept + dropped


def _params(plan: PlannedMessage) -> dict[str, str]:
    """Stored params: the message's, plus the daily budget's note when it acted."""
    return {**plan.params, "budget": plan.budget} if plan.budget else dict(plan.params)


def _changes(
    row: PlannedRow, plan: PlannedMessage, status: str, participant: Participant, rt: Runtime
) -> dict[str, Any]:
    """Only the fields that differ between the row and the plan (empty: leave it alone)."""
    now = rt.clock.now()
    send_at = plan.send_at
    if row.status == MessageStatus.PLANNED and row.attempts > 0 and row.send_at > send_at:
        send_at = row.send_at  # a retry waiting out its backoff keeps waiting
    if row.status == status and row.send_at <= now and send_at <= now:
        send_at = row.send_at  # due either way: "due now" is not a change
    wanted: dict[str, Any] = {
        "status": MessageStatus.CANCELLED if plan.dropped else status,
        "skip_reason": _skip_reason(plan, status, not_sent.recipient_barrier(participant)),
        "send_at": send_at,
        "expires_at": plan.expires_at,
        "params": _params(plan),
        "message_key": plan.message_key,
        "language": participant.language,
    }
    changes = {name: value for name, value in wanted.items() if getattr(row, name) != value}
    if changes:  # ``revision`` says which protocol revision last changed the row
        changes["revision"] = rt.protocol.revision
    return changes


async def _guarded_update(
    rows: Sequence[PlannedRow | OutboundMessage], values: dict[str, Any], now: datetime
) -> int:
    """Write ``values`` to each row only if it is still as read (same status, same
    version: a claim bumps both). Rows are grouped by what they were read as, so each
    chunk is one ``id IN (...)`` UPDATE on the primary key; returns rows changed."""
    by_state: dict[tuple[str, int], list[int]] = {}
    for row in rows:
        by_state.setdefault((row.status, row.version), []).append(row.id)
    changed = 0
    for (status, version), ids in by_state.items():
        for start in range(0, len(ids), _CHUNK):
            changed += await OutboundMessage.filter(
                id__in=ids[start : start + _CHUNK], status=status, version=version
            ).update(**values, version=F("version") + 1, updated_at=now)
    return changed


@dataclass(slots=True)
class PlanSync:
    """What one participant's re-plan writes: row updates grouped by the values they
    take (rows of many participants taking the same values share one statement),
    new rows, and the counts for the audit entry."""

    updates: dict[str, tuple[dict[str, Any], list[PlannedRow]]] = field(default_factory=dict)
    new_rows: list[dict[str, Any]] = field(default_factory=list)  # each new row's values
    cancelled: int = 0
    moved: int = 0
    soon: bool = False  # a changed row is due within a minute: wake the dispatchers

    @property
    def changes(self) -> int:
        return self.cancelled + self.moved + len(self.new_rows)

    def add(self, changes: dict[str, Any], row: PlannedRow, *, cancel: bool) -> None:
        key = ("cancel " if cancel else "move ") + repr(sorted(changes.items()))
        self.updates.setdefault(key, (changes, []))[1].append(row)

    def merge(self, other: PlanSync) -> None:
        for key, (changes, rows) in other.updates.items():
            self.updates.setdefault(key, (changes, []))[1].extend(rows)
        self.new_rows.extend(other.new_rows)
        self.cancelled += other.cancelled
        self.moved += other.moved
        self.soon = self.soon or other.soon


def compare_plan(
    rt: Runtime,
    participant: Participant,
    rows: PlanRows,
    recorded: frozenset[str],
    now: datetime,
) -> PlanSync:
    """Pure: the participant's planned rows as read against what should be sent now.

    Only rows still ``planned``/``in_app``/``cancelled`` are touched, only in the
    fields that differ; a plan that changes nothing gives an empty sync.
    """
    existing = {row.dedupe_key: row for row in rows.mutable}
    wanted = {
        message_dedupe_key(participant.id, m.purpose, m.occurrence): m
        for m in plan_for(rt, participant, recorded, now, rows.gone)
    }
    barrier = not_sent.recipient_barrier(participant)
    active_status = MessageStatus.PLANNED if barrier is None else MessageStatus.IN_APP
    sync = PlanSync()
    # No longer planned: because of who the participant now is, or the plan moved on.
    gone_because = {
        "status": MessageStatus.CANCELLED,
        "skip_reason": barrier or not_sent.NOT_NEEDED,
    }
    for key, row in existing.items():
        plan = wanted.get(key)
        if plan is None:
            if row.status != MessageStatus.CANCELLED:
                sync.add(gone_because, row, cancel=True)
                sync.cancelled += 1
            continue
        changes = _changes(row, plan, active_status, participant, rt)
        if changes:
            sync.add(changes, row, cancel=False)
            sync.moved += 1
    sync.new_rows = [
        dict(
            participant_id=participant.id,
            kind=plan.kind,
            purpose=plan.purpose,
            occurrence=plan.occurrence,
            dedupe_key=key,
            status=MessageStatus.CANCELLED if plan.dropped else active_status,
            skip_reason=_skip_reason(plan, active_status, barrier),
            message_key=plan.message_key,
            params=_params(plan),
            language=participant.language,
            send_at=plan.send_at,
            expires_at=plan.expires_at,
            revision=rt.protocol.revision,
            created_at=now,
            updated_at=now,
        )
        for key, plan in wanted.items()
        if key not in existing and key not in rows.settled_keys
    ]
    soon = now + _SOON
    sync.soon = bool(sync.new_rows or sync.moved) and any(
        m.send_at <= soon for m in wanted.values()
    )
    return sync


async def write_sync(
    rt: Runtime, sync: PlanSync, now: datetime, inserts: Inserts | None = None
) -> tuple[int, int]:
    """Write a (possibly merged) sync: one guarded UPDATE per group of values and
    chunk, one multi-row INSERT per chunk of new rows (``inserts``: the new rows'
    values converted beforehand); returns the rows cancelled and moved (a row a
    dispatcher claimed meanwhile is in neither)."""
    cancelled = moved = 0
    for key, (changes, rows) in sync.updates.items():
        done = await _guarded_update(rows, changes, now)
        if key.startswith("cancel"):
            cancelled += done
        else:
            moved += done
    if inserts is not None:
        await inserts.execute()
    elif sync.new_rows:
        built = [new_row(**values) for values in sync.new_rows]
        await OutboundMessage.bulk_create(built, batch_size=_CHUNK)
    if sync.soon:
        await notify_due(rt)  # e.g. an enrolment's first reminder, due at once
    return cancelled, moved


def replan_entry(
    rt: Runtime,
    participant: Participant,
    actor: Actor,
    now: datetime,
    counts: tuple[int, int, int],
) -> AuditEntry:
    """The audit row of one participant's re-plan (written with its rows)."""
    return AuditEntry(
        at=now,
        actor=actor.label,
        action=AuditAction.MESSAGES_REPLAN,
        entity="participant",
        entity_id=participant.study_id,
        changes=dict(zip(("added", "moved", "cancelled"), counts, strict=True)),
        reason=f"protocol revision {rt.protocol.revision[:12]}",
    )


async def replan_participant(rt: Runtime, participant: Participant, *, actor: Actor) -> int:
    """Sync planned rows with what should be sent; returns how many rows changed.

    Rows are written only while they are still as read (``planned``/``in_app``/
    ``cancelled`` at the same version), so a row a dispatcher claimed meanwhile is left
    to the dispatcher; only the fields that changed are written, rows taking the same
    values in one statement; a re-plan that changes nothing writes nothing.

    Inside the caller's transaction it first holds the participant's row, bumping its
    ``plan_version``: a protocol re-plan's batch, which plans from rows read outside
    its transaction, holds the same rows when it writes and writes only participants
    whose version is still as read (otherwise both could plan the same new row, and
    one of them fail on its unique key).
    """
    now = rt.clock.now()
    # Holds the participant's row and tells a protocol re-plan that planned this
    # participant from rows read before this transaction to plan them again.
    await Participant.filter(id=participant.id).update(plan_version=F("plan_version") + 1)
    rows = (await read_plan_rows([participant.id], now))[participant.id]
    recorded = frozenset((await latest_outcomes(participant.id)).keys())
    sync = compare_plan(rt, participant, rows, recorded, now)
    if not sync.changes:
        return 0
    cancelled, moved = await write_sync(rt, sync, now)
    added = len(sync.new_rows)
    if not (added or moved or cancelled):
        return 0
    await replan_entry(rt, participant, actor, now, (added, moved, cancelled)).save()
    return added + moved + cancelled
