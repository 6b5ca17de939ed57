"""Alerts nobody acknowledged: escalated to the backup on-call phone, and the late
record of ``notified_at`` for alerts whose first SMS left through a dispatcher retry.

Both run as the periodic ``alerts.escalate`` job (``service.jobs.tasks``). Each alert
is claimed with a guarded UPDATE, so two workers running the job escalate it once.
Audit entries say which on-call slot was texted, never the number.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from tortoise.transactions import in_transaction

from service.actions.alerts._raise import text_on_call_or_queue
from service.actions.outbox import wake
from service.db.audit import audit
from service.db.models import Alert, OutboundMessage, Participant, Site
from service.domain.actors import SYSTEM
from service.domain.identities import alert_purpose
from service.domain.states import SENT, AlertStatus, AuditAction, InboxReason
from service.runtime import Runtime

__all__ = ["backfill_notified", "escalate_overdue_alerts", "escalation_job"]

log = logging.getLogger("service.alerts")

# How far back the job looks for alerts whose first SMS went out through a retry.
_BACKFILL_WINDOW: Final = timedelta(days=2)


async def _mark_notified(rt: Runtime, alert: Alert, row: OutboundMessage) -> bool:
    moment = row.sent_at or rt.clock.now()
    async with in_transaction():
        changed = await Alert.filter(id=alert.id, notified_at__isnull=True).update(
            notified_at=moment
        )
        if changed:
            await audit(
                at=rt.clock.now(),
                actor=SYSTEM.label,
                action=AuditAction.ALERT_NOTIFY,
                entity="alert",
                entity_id=alert.id,
                changes={"to": "on_call_primary", "message_id": row.id, "status": row.status},
            )
    if changed:
        alert.notified_at = moment
    return bool(changed)


async def _escalate_one(rt: Runtime, alert: Alert) -> tuple[bool, OutboundMessage | None]:
    """Claim the alert's escalation and queue its SMS: (False, None) if someone else
    claimed it or it was acknowledged meanwhile; (True, None) if there is nobody to
    text, and then the coordinators' queue gets it."""
    now = rt.clock.now()
    async with in_transaction():
        claimed = await Alert.filter(
            id=alert.id, status=AlertStatus.OPEN, escalated_at__isnull=True
        ).update(escalated_at=now)
        if not claimed:
            return False, None
        site = await Site.get(code=alert.site_id)
        participant = await Participant.get(id=alert.participant_id)
        slot, phone = (
            ("on_call_backup", site.on_call_backup)
            if site.on_call_backup
            else ("on_call_primary", site.on_call_primary)
        )
        row = await text_on_call_or_queue(
            rt, alert, participant, site, phone, "escalated", InboxReason.ALERT_UNACKNOWLEDGED
        )
        await audit(
            at=now,
            actor=SYSTEM.label,
            action=AuditAction.ALERT_ESCALATE,
            entity="alert",
            entity_id=alert.id,
            changes={
                "to": slot if phone else "inbox:alert_unacknowledged",
                "message_id": row.id if row else None,
                "after_minutes": rt.protocol.safety.escalate_after_minutes,
            },
        )
    alert.escalated_at = now
    return True, row


async def escalate_overdue_alerts(rt: Runtime) -> int:
    """Text the backup on-call phone (or the primary again, when no backup is set) about
    every open alert nobody acknowledged in time. Returns how many were escalated.

    Each alert is claimed with a guarded UPDATE, so concurrent runs escalate it once,
    and an alert acknowledged meanwhile is left alone.
    """
    now = rt.clock.now()
    cutoff = now - timedelta(minutes=rt.protocol.safety.escalate_after_minutes)
    overdue = await Alert.filter(
        status=AlertStatus.OPEN, escalated_at__isnull=True, raised_at__lte=cutoff
    ).order_by("raised_at", "id")
    escalated = 0
    queued = False
    for alert in overdue:
        claimed, row = await _escalate_one(rt, alert)
        escalated += claimed
        queued = queued or row is not None
    if queued:
        wake(rt)
    return escalated


async def backfill_notified(rt: Runtime) -> int:
    """Record ``notified_at`` of alerts whose first SMS left through a dispatcher retry."""
    since = rt.clock.now() - _BACKFILL_WINDOW
    waiting = await Alert.filter(notified_at__isnull=True, raised_at__gte=since)
    done = 0
    for alert in waiting:
        row = await OutboundMessage.get_or_none(
            purpose=alert_purpose(alert.id), occurrence="oncall", status__in=SENT
        )
        if row is not None and await _mark_notified(rt, alert, row):
            done += 1
    return done


async def escalation_job(rt: Runtime) -> None:
    """Periodic job: escalate overdue alerts; catch up on late on-call notifications."""
    notified = await backfill_notified(rt)
    escalated = await escalate_overdue_alerts(rt)
    if notified or escalated:
        log.info("alerts: %d escalated, %d notified late", escalated, notified)
