"""One alert per event, whichever channel says it: where every check-in's findings
pass (SMS dialogue, SMS report, app answer, app report, any later channel).

The decision is pure (:mod:`service.domain.alert_policy`); this module finds the
participant's alerts that bear on it, under a lock on the participant's alerts held to
the end of the caller's transaction (so an SMS and an app report arriving together
cannot both raise), and carries it out: a new alert through :func:`record_alert`, a
refinement of the same check-in's alert in place (audited, no new on-call text), or
nothing for a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.expressions import Q

from service.actions.alerts._raise import PendingNotice, record_alert, stored_finding
from service.db.audit import audit
from service.db.locks import serialize_on
from service.db.models import Alert, Checkin, Participant
from service.domain.actors import SYSTEM
from service.domain.alert_policy import REPEAT_WINDOW, AlertMove, KnownAlert, alert_move
from service.domain.safety import SafetyFinding, alert_dedupe_key
from service.domain.states import AuditAction
from service.runtime import Runtime

__all__ = ["AlertOutcome", "alert_once"]


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What a check-in's findings did: ``notice`` of a new alert (send it after the
    commit), or the alert they ``refined`` or ``repeated``."""

    move: AlertMove
    notice: PendingNotice | None = None
    existing: Alert | None = None

    @property
    def repeat(self) -> bool:
        return self.move is AlertMove.REPEAT


async def _known(rt: Runtime, participant: Participant, checkin_key: str) -> list[KnownAlert]:
    now = rt.clock.now()
    rows = await (
        Alert.filter(participant_id=participant.id)
        .filter(Q(raised_at__gt=now - REPEAT_WINDOW) | Q(checkin__checkin_key=checkin_key))
        .prefetch_related("checkin")
    )
    return [
        KnownAlert(
            alert_id=row.id,
            codes=frozenset(str(f["code"]) for f in row.findings),
            emergency=row.emergency,
            same_checkin=row.checkin is not None and row.checkin.checkin_key == checkin_key,
            raised_at=row.raised_at,
        )
        for row in rows
    ]


async def alert_once(
    rt: Runtime,
    participant: Participant,
    *,
    findings: Sequence[SafetyFinding],
    checkin: Checkin,
) -> AlertOutcome:
    """Raise, refine or recognise a repeat (module docstring). Call inside the
    transaction that stores ``checkin``."""
    if not findings:
        return AlertOutcome(AlertMove.NONE)
    await serialize_on(f"alerts-of:{participant.id}")
    move, concerned = alert_move(
        findings, await _known(rt, participant, checkin.checkin_key), rt.clock.now()
    )
    if move is AlertMove.RAISE:
        notice = await record_alert(
            rt,
            participant,
            findings=findings,
            dedupe_key=alert_dedupe_key(participant.id, checkin.checkin_key, findings),
            checkin=checkin,
        )
        return AlertOutcome(move, notice=notice)
    assert concerned is not None
    existing = await Alert.get(id=concerned.alert_id)
    if move is AlertMove.REFINE:
        await _refine(rt, participant, existing, findings, checkin)
    return AlertOutcome(move, existing=existing)


async def _refine(
    rt: Runtime,
    participant: Participant,
    alert: Alert,
    findings: Sequence[SafetyFinding],
    checkin: Checkin,
) -> None:
    """The same check-in said more (a severity, a temperature): the alert shows it."""
    stored = [stored_finding(f) for f in findings]
    if stored == alert.findings and alert.checkin_id == checkin.id:
        return
    before = [str(f["code"]) for f in alert.findings]
    alert.findings = stored
    alert.checkin = checkin
    await alert.save(update_fields=["findings", "checkin_id"])
    await audit(
        at=rt.clock.now(),
        actor=SYSTEM.label,
        action=AuditAction.ALERT_REFINE,
        entity="alert",
        entity_id=alert.id,
        changes={
            "study_id": participant.study_id,
            "findings_before": before,
            "findings": [f.code for f in findings],
            "checkin_id": checkin.id,
        },
    )
