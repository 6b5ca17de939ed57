"""Safety alerts: stored once per event, texted to the site's on-call phone at once,
escalated when nobody acknowledges them, closed by a coordinator with a note.

Why it is shaped like this:

* **Once per event.** ``Alert.dedup_key`` is unique (see ``safety.alert_dedup_key``):
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
* **Spanish, short, no health data beyond what the team needs.** The summary is the
  Babel-formatted list of finding labels in Spanish, cut to fit one line.
* **Audit without numbers.** Audit entries say *which* on-call slot was texted
  (``on_call_primary``/``on_call_backup``), never the number itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from babel.lists import format_list
from babel.numbers import format_decimal
from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from service.actions.actors import SYSTEM, Actor
from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.actions.outbox import enqueue_now, wake
from service.adapters.redaction import redact_phones
from service.db.audit import audit
from service.db.models import Alert, CheckIn, InboxItem, OutboundMessage, Participant, Site
from service.domain.safety import SafetyFinding
from service.runtime import Runtime

if TYPE_CHECKING:
    from service.jobs.tasks import Job

__all__ = [
    "ALERT_LANGUAGE",
    "ALERT_STATUSES",
    "PendingNotice",
    "acknowledge_alert",
    "alert_jobs",
    "alert_summary",
    "backfill_notified",
    "escalate_overdue_alerts",
    "escalation_job",
    "finding_label",
    "notify_alert",
    "raise_alert",
    "record_alert",
    "visible_alert",
    "visible_alerts",
]

log = logging.getLogger("service.alerts")

ALERT_LANGUAGE: Final = "es"  # the site teams read Spanish
ALERT_STATUSES: Final = ("open", "acknowledged")
SUMMARY_MAX_CHARS: Final = 109
NOTE_MAX_CHARS: Final = 2000
# An on-call SMS still matters hours later (better late than never); the dispatcher
# keeps retrying a transient failure until then.
NOTIFY_TTL: Final = timedelta(hours=12)
# How far back the job looks for alerts whose first SMS went out through a retry.
_BACKFILL_WINDOW: Final = timedelta(days=2)
_SENT: Final = ("sent", "delivered")

# Findings that are not about one symptom have a label key of their own
# (``finding.*`` in the catalog); an unknown code shows as itself, never as nothing.
_FINDING_LABEL_KEYS: Final = {"pregnancy_yes": "finding.pregnancy_yes"}


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """An alert just stored, with the on-call SMS row to send once the caller commits
    (None when the site has no on-call number: the coordinators' queue has it)."""

    alert: Alert
    row: OutboundMessage | None


# ---- labels --------------------------------------------------------------------------


def _render(rt: Runtime, key: str) -> str:
    return rt.translator.render(key, ALERT_LANGUAGE)


def _base_label(rt: Runtime, finding: Mapping[str, Any]) -> str:
    code = str(finding.get("code", ""))
    symptom_key = (finding.get("key_params") or {}).get("symptom")
    if symptom_key:
        return _render(rt, symptom_key)
    key = _FINDING_LABEL_KEYS.get(code)
    return _render(rt, key) if key is not None else code


def _temperature(value: object) -> str | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return f"{format_decimal(number, format='0.0', locale='es_CL')} °C"


def finding_label(rt: Runtime, finding: Mapping[str, Any], *, details: bool = True) -> str:
    """A stored finding as staff read it, in Spanish: "Fiebre 38,5 °C (severo)"."""
    label = _base_label(rt, finding)
    if not details:
        return label
    params = finding.get("params") or {}
    if params.get("temperature_c") is not None:
        temperature = _temperature(params["temperature_c"])
        if temperature:
            label = f"{label} {temperature}"
    severity_key = (finding.get("key_params") or {}).get("severity")
    if severity_key:
        label = f"{label} ({_render(rt, severity_key).lower()})"
    return label


def alert_summary(rt: Runtime, findings: Sequence[Mapping[str, Any]]) -> str:
    """The findings as one short Spanish list, at most ``SUMMARY_MAX_CHARS`` long.

    Full labels first; if too long, labels without severity and temperature; if still
    too long, the first labels and "+N" for the rest (the dashboard shows them all).
    Emergency findings come first.
    """
    if not findings:
        return ""
    # Emergencies first: if the list has to be cut, chest pain is never the part cut.
    findings = sorted(findings, key=lambda finding: not finding.get("emergency", False))
    for details in (True, False):
        labels = [finding_label(rt, f, details=details) for f in findings]
        text = format_list(labels, locale="es_CL")
        if len(text) <= SUMMARY_MAX_CHARS:
            return text
    for keep in range(len(labels) - 1, 0, -1):
        text = format_list([*labels[:keep], f"+{len(labels) - keep}"], locale="es_CL")
        if len(text) <= SUMMARY_MAX_CHARS:
            return text
    return labels[0][: SUMMARY_MAX_CHARS - 4] + f" +{len(labels) - 1}"


def _stored(finding: SafetyFinding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "params": dict(finding.params),
        "key_params": dict(finding.key_params),
        "emergency": finding.emergency,
    }


# ---- raising and notifying -------------------------------------------------------------


def _site_id(row: Participant | Alert) -> str:
    site_id: str = row.site_id  # type: ignore[union-attr]  # Tortoise FK id attribute
    return site_id


async def _text_or_queue(
    rt: Runtime,
    alert: Alert,
    participant: Participant,
    site: Site,
    phone: str | None,
    occurrence: str,
    inbox_reason: str,
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
    await InboxItem.create(
        participant=participant, site=site, reason=inbox_reason, created_at=rt.clock.now()
    )
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
        kind="alert",
        purpose=f"alert:{alert.id}",
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
    dedup_key: str,
    checkin: CheckIn | None = None,
) -> PendingNotice | None:
    """Store the alert, its on-call SMS row (or inbox item) and its audit entry.

    Call inside a transaction and send with :func:`notify_alert` after the commit.
    None when this event has an alert already.
    """
    if not findings:
        raise ValueError("no findings, no alert")
    if await Alert.filter(dedup_key=dedup_key).exists():
        return None
    now = rt.clock.now()
    site = await Site.get(code=_site_id(participant))
    try:
        async with in_transaction():  # a savepoint: a lost race leaves the caller intact
            alert = await Alert.create(
                participant=participant,
                site=site,
                dedup_key=dedup_key,
                checkin=checkin,
                findings=[_stored(f) for f in findings],
                emergency=any(f.emergency for f in findings),
                raised_at=now,
            )
    except IntegrityError:
        return None
    row = await _text_or_queue(
        rt, alert, participant, site, site.on_call_primary, "oncall", "alert_no_on_call"
    )
    await audit(
        at=now,
        actor=SYSTEM.label,
        action="alert.raise",
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
                action="alert.notify",
                entity="alert",
                entity_id=alert.id,
                changes={"to": "on_call_primary", "message_id": row.id, "status": row.status},
            )
    if changed:
        alert.notified_at = moment
    return bool(changed)


async def notify_alert(rt: Runtime, notice: PendingNotice) -> Alert:
    """After the commit: have the on-call SMS sent now, ahead of any reminder.

    The dispatchers own the send (retries, reconciliation); the alert job records
    ``notified_at`` once it has left.
    """
    if notice.row is not None:
        wake(rt)
    return notice.alert


async def raise_alert(
    rt: Runtime,
    participant: Participant,
    *,
    findings: Sequence[SafetyFinding],
    dedup_key: str,
    checkin: CheckIn | None = None,
) -> Alert | None:
    """Store an alert and text the site's on-call phone at once; None if it exists.

    Must be called outside a transaction (it sends); inside one, use
    :func:`record_alert` and :func:`notify_alert` after the commit.
    """
    async with in_transaction():
        notice = await record_alert(
            rt, participant, findings=findings, dedup_key=dedup_key, checkin=checkin
        )
    if notice is None:
        return None
    return await notify_alert(rt, notice)


# ---- escalation ---------------------------------------------------------------------------


async def _escalate_one(rt: Runtime, alert: Alert) -> tuple[bool, OutboundMessage | None]:
    """Claim the alert's escalation and queue its SMS: (False, None) if someone else
    claimed it or it was acknowledged meanwhile; (True, None) if there is nobody to
    text, and then the coordinators' queue gets it."""
    now = rt.clock.now()
    async with in_transaction():
        claimed = await Alert.filter(id=alert.id, status="open", escalated_at__isnull=True).update(
            escalated_at=now
        )
        if not claimed:
            return False, None
        site = await Site.get(code=_site_id(alert))
        participant = await Participant.get(id=alert.participant_id)  # type: ignore[attr-defined]  # FK id attr
        slot, phone = (
            ("on_call_backup", site.on_call_backup)
            if site.on_call_backup
            else ("on_call_primary", site.on_call_primary)
        )
        row = await _text_or_queue(
            rt, alert, participant, site, phone, "escalated", "alert_unacknowledged"
        )
        await audit(
            at=now,
            actor=SYSTEM.label,
            action="alert.escalate",
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
        status="open", escalated_at__isnull=True, raised_at__lte=cutoff
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
            purpose=f"alert:{alert.id}", occurrence="oncall", status__in=_SENT
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


def alert_jobs() -> dict[str, Job]:
    """The alert jobs, for ``service.jobs.tasks.periodic_jobs`` to merge."""
    return {"alerts.escalate": escalation_job}


# ---- reading and acknowledging -----------------------------------------------------------


def _sees(actor: Actor, alert: Alert) -> bool:
    return actor.kind in ("staff", "apikey") and actor.can_see_site(_site_id(alert))


def visible_alerts(actor: Actor, status: str = "open") -> QuerySet[Alert]:
    """Alerts of the actor's sites, newest first; ``status`` open, acknowledged or all."""
    if actor.kind not in ("staff", "apikey"):
        raise Forbidden("alerts are for study staff")
    query = Alert.all()
    if status != "all":
        if status not in ALERT_STATUSES:
            raise FieldInvalid("status must be open, acknowledged or all", field="status")
        query = query.filter(status=status)
    if not actor.all_sites:
        query = query.filter(site_id__in=list(actor.sites))
    return query.order_by("-raised_at", "-id")


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
        changed = await Alert.filter(id=alert.id, status="open").update(
            status="acknowledged", acknowledged_at=now, acknowledged_by=actor.label, note=text
        )
        if not changed:
            raise Conflict(f"alert {alert_id} was already acknowledged")
        await audit(
            at=now,
            actor=actor.label,
            action="alert.acknowledge",
            entity="alert",
            entity_id=alert.id,
            changes={"status": ["open", "acknowledged"]},
            reason=redact_phones(text),
        )
    return await Alert.get(id=alert.id)
