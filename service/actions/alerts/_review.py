"""Staff reading and closing alerts: site-scoped lists, one alert, the once-only
acknowledgement with a note (its text is audited with phone numbers masked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from service.actions.access import in_site_scope
from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.adapters.redaction import redact_phones
from service.db.audit import audit
from service.db.models import Alert
from service.domain.actors import Actor
from service.domain.states import AlertStatus, AuditAction
from service.runtime import Runtime

__all__ = [
    "ALERT_STATUSES",
    "NOTE_MAX_CHARS",
    "AlertRecord",
    "acknowledge_alert",
    "alert_record",
    "visible_alert",
    "visible_alerts",
]

ALERT_STATUSES: Final = tuple(AlertStatus)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as staff read it through the API (its findings as stored)."""

    id: int
    participant_id: int
    site: str
    findings: list[dict[str, Any]]
    emergency: bool
    status: str
    checkin_id: int | None
    raised_at: datetime
    notified_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


def alert_record(alert: Alert) -> AlertRecord:
    return AlertRecord(
        id=alert.id,
        participant_id=alert.participant_id,
        site=alert.site_id,
        findings=list(alert.findings),
        emergency=alert.emergency,
        status=alert.status,
        checkin_id=alert.checkin_id,
        raised_at=alert.raised_at,
        notified_at=alert.notified_at,
        escalated_at=alert.escalated_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        note=alert.note,
    )


NOTE_MAX_CHARS: Final = 2000


def _sees(actor: Actor, alert: Alert) -> bool:
    return actor.is_staff and actor.can_see_site(alert.site_id)


def visible_alerts(actor: Actor, status: str = AlertStatus.OPEN) -> QuerySet[Alert]:
    """Alerts of the actor's sites, newest first; ``status`` open, acknowledged or all."""
    if not actor.is_staff:
        raise Forbidden("alerts are for study staff")
    query = Alert.all()
    if status != "all":
        if status not in ALERT_STATUSES:
            raise FieldInvalid("status must be open, acknowledged or all", field="status")
        query = query.filter(status=status)
    return in_site_scope(query, actor).order_by("-raised_at", "-id")


async def visible_alert(actor: Actor, alert_id: int) -> Alert:
    """One alert; another site's alert is "not found", exactly like a missing one."""
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None or not _sees(actor, alert):
        raise NotFound(f"no alert {alert_id}")
    return alert


async def acknowledge_alert(rt: Runtime, actor: Actor, alert_id: int, note: str) -> Alert:
    """Close an open alert with a note: coordinators and admins of the alert's site."""
    alert = await visible_alert(actor, alert_id)
    if not actor.can_write:
        raise Forbidden("this role may read alerts but not acknowledge them")
    text = (note or "").strip()
    if not text:
        raise FieldInvalid("note is required: say what was done", field="note")
    if len(text) > NOTE_MAX_CHARS:
        raise FieldInvalid(f"note is longer than {NOTE_MAX_CHARS} characters", field="note")
    now = rt.clock.now()
    async with in_transaction():
        changed = await Alert.filter(id=alert.id, status=AlertStatus.OPEN).update(
            status=AlertStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=actor.label,
            note=text,
        )
        if not changed:
            raise Conflict(f"alert {alert_id} was already acknowledged")
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.ALERT_ACKNOWLEDGE,
            entity="alert",
            entity_id=alert.id,
            changes={"status": [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]},
            reason=redact_phones(text),
        )
    return await Alert.get(id=alert.id)
