"""Raising a safety alert: stored once per event, texted to the site's on-call phone at
once. Escalation lives in ``_escalation``, reading and acknowledging in ``_review``,
the Spanish labels in ``_text``, the coordinators' queue in ``_inbox``.

Why it is shaped like this:

* **Once per event.** ``Alert.dedupe_key`` is unique (see ``safety.alert_dedupe_key``):
  a retried webhook, a resubmitted app form or two workers racing all end in one
  row. The insert runs in a savepoint, so losing the race inside a caller's
  transaction (the check-in that raised it) rolls back only the alert attempt.
* **Stored, then sent by the outbox.** The alert, its outbound SMS row (kind
  ``alert``: claimed before every other kind) and its audit entry are written in one
  transaction; after the commit :func:`notify_alert` wakes the dispatchers
  (``outbox.wake``; on PostgreSQL the row's ``NOTIFY`` reaches every process at
  commit), which send it within moments, retry it, and reconcile it after a crash,
  like every other message. ``notified_at`` is the moment it left, recorded by the
  alert job (``backfill_notified``) once the dispatcher has sent it.
* **Staff SMS are not the participant's messages.** On-call rows carry ``to_phone``
  and the site code but no participant: they never show on the participant's
  timeline or app, and a participant's opt-out or pause cannot hold them back.
* **Audit without numbers.** Audit entries say *which* on-call slot was texted
  (``on_call_primary``/``on_call_backup``), never the number itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.actions.alerts._inbox import open_inbox_item
from service.actions.alerts._text import ALERT_LANGUAGE, alert_summary
from service.actions.outbox import enqueue_now, wake
from service.db.audit import audit
from service.db.models import Alert, Checkin, OutboundMessage, Participant, Site
from service.domain.actors import SYSTEM
from service.domain.identities import alert_purpose
from service.domain.safety import SafetyFinding
from service.domain.states import AuditAction, InboxReason, MessageKind
from service.runtime import Runtime

__all__ = [
    "NOTIFY_TTL",
    "PendingNotice",
    "notify_alert",
    "record_alert",
    "stored_finding",
    "text_on_call_or_queue",
]

log = logging.getLogger("service.alerts")

# An on-call SMS still matters hours later (better late than never); the dispatcher
# keeps retrying a transient failure until then.
NOTIFY_TTL: Final = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """An alert just stored, with the on-call SMS row to send once the caller commits
    (None when the site has no on-call number: the coordinators' queue has it)."""

    alert: Alert
    row: OutboundMessage | None


def stored_finding(finding: SafetyFinding) -> dict[str, Any]:
    """A finding as the alert row stores it (JSON)."""
    return {
        "code": finding.code,
        "params": dict(finding.params),
        "key_params": dict(finding.key_params),
        "emergency": finding.emergency,
    }


async def text_on_call_or_queue(
    rt: Runtime,
    alert: Alert,
    participant: Participant,
    site: Site,
    phone: str | None,
    occurrence: str,
    inbox_reason: InboxReason,
) -> OutboundMessage | None:
    """Text the on-call phone; with no number set, the coordinators' queue must see it."""
    if phone:
        return await _enqueue(
            rt,
            alert,
            participant.study_id,
            site,
            to_phone=phone,
            message_key=f"alert.{occurrence}",
            occurrence=occurrence,
        )
    await open_inbox_item(rt, inbox_reason, participant=participant, site_code=site.code)
    return None


async def _enqueue(
    rt: Runtime,
    alert: Alert,
    study_id: str,
    site: Site,
    *,
    to_phone: str,
    message_key: str,
    occurrence: str,
) -> OutboundMessage:
    return await enqueue_now(
        rt,
        participant=None,
        to_phone=to_phone,
        kind=MessageKind.ALERT,
        purpose=alert_purpose(alert.id),
        occurrence=occurrence,
        message_key=message_key,
        params={
            "study_id": study_id,
            "site": site.name,
            "site_code": site.code,
            "summary": alert_summary(rt, alert.findings),
        },
        language=ALERT_LANGUAGE,
        expires_in=NOTIFY_TTL,
    )


async def record_alert(
    rt: Runtime,
    participant: Participant,
    *,
    findings: Sequence[SafetyFinding],
    dedupe_key: str,
    checkin: Checkin | None = None,
) -> PendingNotice | None:
    """Store the alert, its on-call SMS row (or inbox item) and its audit entry.

    Call inside a transaction and send with :func:`notify_alert` after the commit.
    None when this event has an alert already.
    """
    if not findings:
        raise ValueError("no findings, no alert")
    if await Alert.filter(dedupe_key=dedupe_key).exists():
        return None
    now = rt.clock.now()
    site = await Site.get(code=participant.site_id)
    try:
        async with in_transaction():  # a savepoint: a lost race leaves the caller intact
            alert = await Alert.create(
                participant=participant,
                site=site,
                dedupe_key=dedupe_key,
                checkin=checkin,
                findings=[stored_finding(f) for f in findings],
                emergency=any(f.emergency for f in findings),
                raised_at=now,
            )
    except IntegrityError:
        return None
    row = await text_on_call_or_queue(
        rt, alert, participant, site, site.on_call_primary, "oncall", InboxReason.ALERT_NO_ON_CALL
    )
    await audit(
        at=now,
        actor=SYSTEM.label,
        action=AuditAction.ALERT_RAISE,
        entity="alert",
        entity_id=alert.id,
        changes={
            "study_id": participant.study_id,
            "site": site.code,
            "findings": [f.code for f in findings],
            "emergency": alert.emergency,
            "checkin_id": checkin.id if checkin else None,
            "notify": "on_call_primary" if row else "inbox:alert_no_on_call",
            "message_id": row.id if row else None,
        },
    )
    log.info(
        "alert %s raised for %s (%d finding(s)%s)",
        alert.id,
        participant.study_id,
        len(findings),
        ", emergency" if alert.emergency else "",
    )
    return PendingNotice(alert=alert, row=row)


async def notify_alert(rt: Runtime, notice: PendingNotice) -> Alert:
    """After the commit: have the on-call SMS sent now, ahead of any reminder.

    The dispatchers own the send (retries, reconciliation); the alert job records
    ``notified_at`` once it has left.
    """
    if notice.row is not None:
        wake(rt)
    return notice.alert
