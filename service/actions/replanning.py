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
from datetime import datetime

from tortoise.transactions import in_transaction

from service.actions.actors import SYSTEM, Actor
from service.actions.calendars import calendar_for, latest_outcomes
from service.db.audit import audit
from service.db.models import OutboundMessage, Participant, ServiceState
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.daily_budget import apply_daily_budget
from service.domain.reminders import PlannedMessage, parse_hhmm, plan_visit_reminders
from service.runtime import Runtime

log = logging.getLogger("service.replanning")

PLANNED_KINDS = ("reminder", "checkin")
# Rows the planner may still change; anything else has been handed to the provider.
MUTABLE_STATUSES = ("planned", "in_app", "cancelled")
REVISION_KEY = "protocol_revision"
# Rows that have left (or are leaving): they count against the day's budget.
_LEFT = ("sending", "sent", "delivered", "undelivered")


def may_receive_sms(participant: Participant) -> bool:
    return (
        participant.active
        and participant.sms_consent
        and not participant.opted_out
        and not participant.paused
        and participant.sms_blocked_code is None
    )


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
    planned = (reminders if may_receive_sms(participant) else []) + checkins
    budget = rt.protocol.daily_budget
    if budget is None or not may_receive_sms(participant):  # in-app rows ring no phone
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


def dedupe_key(participant_id: int, purpose: str, occurrence: str) -> str:
    return f"{participant_id}:{purpose}:{occurrence}"


async def replan_participant(rt: Runtime, participant: Participant, *, actor: Actor) -> int:
    """Sync planned rows with what should be sent; returns how many rows changed."""
    now = rt.clock.now()
    existing = {
        row.dedupe_key: row
        for row in await OutboundMessage.filter(
            participant_id=participant.id, kind__in=PLANNED_KINDS
        )
    }
    gone = [row.sent_at or row.send_at for row in existing.values() if row.status in _LEFT]
    wanted = {
        dedupe_key(participant.id, m.purpose, m.occurrence): m
        for m in await desired_messages(rt, participant, now, gone)
    }
    active_status = "planned" if may_receive_sms(participant) else "in_app"
    added = moved = cancelled = 0
    for key, row in existing.items():
        if row.status not in MUTABLE_STATUSES:
            continue
        plan = wanted.get(key)
        if plan is None:
            if row.status != "cancelled":
                row.status, row.updated_at = "cancelled", now
                await row.save(update_fields=["status", "updated_at"])
                cancelled += 1
            continue
        send_at = plan.send_at
        if row.status == "planned" and row.attempts > 0 and row.send_at > send_at:
            send_at = row.send_at  # a retry waiting out its backoff keeps waiting
        status = "cancelled" if plan.dropped else active_status
        changed = (
            row.status != status
            or row.send_at != send_at
            or row.expires_at != plan.expires_at
            or row.language != participant.language
            or row.revision != rt.protocol.revision
            or row.params != _params(plan)
        )
        if changed:
            row.status, row.send_at, row.expires_at = status, send_at, plan.expires_at
            row.params, row.message_key = _params(plan), plan.message_key
            row.language, row.revision, row.updated_at = (
                participant.language,
                rt.protocol.revision,
                now,
            )
            await row.save()
            moved += 1
    new_rows = [
        OutboundMessage(
            participant_id=participant.id,
            kind=plan.kind,
            purpose=plan.purpose,
            occurrence=plan.occurrence,
            dedupe_key=key,
            status="cancelled" if plan.dropped else active_status,
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
    if new_rows:
        await OutboundMessage.bulk_create(new_rows)
        added = len(new_rows)
    if added or moved or cancelled:
        await audit(
            at=now,
            actor=actor.label,
            action="messages.replan",
            entity="participant",
            entity_id=participant.study_id,
            changes={"added": added, "moved": moved, "cancelled": cancelled},
            reason=f"protocol revision {rt.protocol.revision[:12]}",
        )
    return added + moved + cancelled


async def replan_if_protocol_changed(rt: Runtime) -> int:
    """At start-up: a new protocol revision re-plans every active participant."""
    state = await ServiceState.get_or_none(key=REVISION_KEY)
    if state is not None and state.value == rt.protocol.revision:
        return 0
    changed = 0
    async with in_transaction():
        for participant in await Participant.filter(status="active"):
            changed += await replan_participant(rt, participant, actor=SYSTEM)
        await ServiceState.update_or_create(
            defaults={"value": rt.protocol.revision, "updated_at": rt.clock.now()},
            key=REVISION_KEY,
        )
    log.info("protocol revision %s: %d message rows re-planned", rt.protocol.revision[:12], changed)
    return changed
