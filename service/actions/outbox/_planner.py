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

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.actions.calendars import calendar_for, latest_outcomes
from service.actions.outbox._enqueue import notify_due
from service.db.audit import audit
from service.db.locks import serialize_on
from service.db.models import OutboundMessage, Participant, ServiceState
from service.domain import not_sent
from service.domain.actors import SYSTEM, Actor
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.daily_budget import apply_daily_budget
from service.domain.identities import message_dedupe_key
from service.domain.reminders import PlannedMessage, parse_hhmm, plan_visit_reminders
from service.domain.states import PARTICIPANT_KINDS, AuditAction, MessageStatus, ParticipantStatus
from service.runtime import Runtime

log = logging.getLogger("service.replanning")

PLANNED_KINDS = tuple(PARTICIPANT_KINDS)
# Rows the planner may still change; anything else has been handed to the provider.
MUTABLE_STATUSES = (MessageStatus.PLANNED, MessageStatus.IN_APP, MessageStatus.CANCELLED)
REVISION_KEY = "protocol_revision"
# Rows that have left (or are leaving): they count against the day's budget.
_LEFT = (
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNDELIVERED,
)
_REPLAN_LOCK = "protocol-replan"  # serialize_on key: start-up re-planning
_SOON = timedelta(seconds=60)  # rows due this soon wake the dispatchers at commit
# What a re-plan compares (reading whole rows costs more than planning them).
_READ = (
    "id",
    "dedupe_key",
    "status",
    "version",
    "attempts",
    "send_at",
    "sent_at",
    "expires_at",
    "params",
    "message_key",
    "language",
    "revision",
    "skip_reason",
)
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
    calendar = calendar_for(rt, participant)
    recorded = frozenset((await latest_outcomes(participant.id)).keys())
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
    row: OutboundMessage, plan: PlannedMessage, status: str, participant: Participant, rt: Runtime
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
    rows: list[OutboundMessage], values: dict[str, Any], now: datetime
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


async def replan_participant(rt: Runtime, participant: Participant, *, actor: Actor) -> int:
    """Sync planned rows with what should be sent; returns how many rows changed.

    Rows are written only while they are still as read (``planned``/``in_app``/
    ``cancelled`` at the same version), so a row a dispatcher claimed meanwhile is left
    to the dispatcher; only the fields that changed are written, rows taking the same
    values in one statement; a re-plan that changes nothing writes nothing.
    """
    now = rt.clock.now()
    existing = {
        row.dedupe_key: row
        for row in await OutboundMessage.filter(
            participant_id=participant.id, kind__in=PLANNED_KINDS
        ).only(*_READ)
    }
    gone = [row.sent_at or row.send_at for row in existing.values() if row.status in _LEFT]
    wanted = {
        message_dedupe_key(participant.id, m.purpose, m.occurrence): m
        for m in await desired_messages(rt, participant, now, gone)
    }
    barrier = not_sent.recipient_barrier(participant)
    active_status = MessageStatus.PLANNED if barrier is None else MessageStatus.IN_APP
    to_cancel: list[OutboundMessage] = []
    groups: dict[str, tuple[dict[str, Any], list[OutboundMessage]]] = {}
    for key, row in existing.items():
        if row.status not in MUTABLE_STATUSES:
            continue
        plan = wanted.get(key)
        if plan is None:
            if row.status != MessageStatus.CANCELLED:
                to_cancel.append(row)
            continue
        changes = _changes(row, plan, active_status, participant, rt)
        if changes:
            group = repr(sorted(changes.items()))
            groups.setdefault(group, (changes, []))[1].append(row)
    # No longer planned: because of who the participant now is, or the plan moved on.
    gone_because = {
        "status": MessageStatus.CANCELLED,
        "skip_reason": barrier or not_sent.NOT_NEEDED,
    }
    cancelled = await _guarded_update(to_cancel, gone_because, now) if to_cancel else 0
    moved = 0
    for changes, rows in groups.values():
        moved += await _guarded_update(rows, changes, now)
    new_rows = [
        OutboundMessage(
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
        if key not in existing
    ]
    added = 0
    if new_rows:
        await OutboundMessage.bulk_create(new_rows)
        added = len(new_rows)
    soon = now + _SOON
    if any(m.send_at <= soon for m in wanted.values()) and (added or moved):
        await notify_due(rt)  # e.g. an enrolment's first reminder, due at once
    if added or moved or cancelled:
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.MESSAGES_REPLAN,
            entity="participant",
            entity_id=participant.study_id,
            changes={"added": added, "moved": moved, "cancelled": cancelled},
            reason=f"protocol revision {rt.protocol.revision[:12]}",
        )
    return added + moved + cancelled


async def replan_if_protocol_changed(rt: Runtime) -> int:
    """At start-up: a new protocol revision re-plans every active participant, once,
    however many processes start together (the others wait, then find it done)."""
    state = await ServiceState.get_or_none(key=REVISION_KEY)
    if state is not None and state.value == rt.protocol.revision:
        return 0
    changed = 0
    async with in_transaction():
        # Serialise start-up re-planning across processes (service.db.locks): taken
        # before the revision is read, so the others wait, then find it done.
        await serialize_on(_REPLAN_LOCK)
        state = await ServiceState.get_or_none(key=REVISION_KEY)
        if state is not None and state.value == rt.protocol.revision:
            return 0  # another process did it while we waited
        for participant in await Participant.filter(status=ParticipantStatus.ACTIVE):
            changed += await replan_participant(rt, participant, actor=SYSTEM)
        await ServiceState.update_or_create(
            defaults={"value": rt.protocol.revision, "updated_at": rt.clock.now()},
            key=REVISION_KEY,
        )
    log.info("protocol revision %s: %d message rows re-planned", rt.protocol.revision[:12], changed)
    return changed
