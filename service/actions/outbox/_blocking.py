"""Stopping all SMS to a participant whose number the provider refuses for good.

The provider's code is classified by the gateway that owns it
(``rt.gateway.explain_error``): a code that blocks the number stops every SMS to that
participant (``sms_blocked_code``; an opt-out at the carrier also sets
``opted_out``), visible to coordinators, and the participant's planned reminders and
check-ins are re-planned at once (cancelled, or kept for the app).
"""

from __future__ import annotations

import logging

from service.actions.outbox._planner import replan_participant
from service.db.audit import audit
from service.db.models import Participant
from service.domain.actors import Actor
from service.domain.states import AuditAction
from service.ports import SmsFailure
from service.runtime import Runtime

__all__ = ["block_participant", "blocked_by_opt_out", "failure_of", "unblock_participant"]

log = logging.getLogger("service.delivery")


def failure_of(rt: Runtime, code: int | None) -> SmsFailure:
    return rt.gateway.explain_error(code).failure


def blocked_by_opt_out(rt: Runtime, participant: Participant) -> bool:
    """The provider stopped this number because the person opted out with it (STOP
    to the carrier), as opposed to an invalid or blocked number."""
    code = participant.sms_blocked_code
    return code is not None and failure_of(rt, code) is SmsFailure.OPTED_OUT


async def block_participant(
    rt: Runtime, participant: Participant, code: int, *, actor: Actor
) -> bool:
    """Stop all SMS to a participant whose number the provider refuses for good.

    Call inside the caller's transaction. An opt-out at the provider (the person
    replied STOP to the carrier) also sets ``opted_out``. Planned reminders and
    check-ins are cancelled through the re-planner; replies are refused by the
    dispatcher at send time.
    """
    fresh = await Participant.filter(id=participant.id).select_for_update().first()
    if fresh is None:
        return False
    opted_out = fresh.opted_out or failure_of(rt, code) is SmsFailure.OPTED_OUT
    if fresh.sms_blocked_code == code and fresh.opted_out == opted_out:
        return False
    before = {"sms_blocked_code": fresh.sms_blocked_code, "opted_out": fresh.opted_out}
    fresh.sms_blocked_code, fresh.opted_out = code, opted_out
    await fresh.save(update_fields=["sms_blocked_code", "opted_out", "updated_at"])
    await audit(
        at=rt.clock.now(),
        actor=actor.label,
        action=AuditAction.PARTICIPANT_SMS_BLOCKED,
        entity="participant",
        entity_id=fresh.study_id,
        changes={k: [v, getattr(fresh, k)] for k, v in before.items()},
        reason=f"the SMS provider refused the number permanently (error {code})",
    )
    await replan_participant(rt, fresh, actor=actor)
    participant.sms_blocked_code, participant.opted_out = code, opted_out
    log.warning("participant %s: SMS stopped after provider error %s", fresh.study_id, code)
    return True


async def unblock_participant(
    rt: Runtime, participant: Participant, *, actor: Actor, reason: str
) -> bool:
    """Send SMS to the number again: staff judged the block wrong or over, or the
    participant texted from it (a number that sends SMS can receive them). Inside the
    caller's transaction; planned messages are re-planned at once. An opt-out made at
    the carrier is not lifted here: only the participant's own INICIAR lifts it."""
    fresh = await Participant.filter(id=participant.id).select_for_update().first()
    if fresh is None or fresh.sms_blocked_code is None or blocked_by_opt_out(rt, fresh):
        return False
    code = fresh.sms_blocked_code
    fresh.sms_blocked_code = None
    await fresh.save(update_fields=["sms_blocked_code", "updated_at"])
    await audit(
        at=rt.clock.now(),
        actor=actor.label,
        action=AuditAction.PARTICIPANT_SMS_UNBLOCKED,
        entity="participant",
        entity_id=fresh.study_id,
        changes={"sms_blocked_code": [code, None]},
        reason=reason,
    )
    await replan_participant(rt, fresh, actor=actor)
    participant.sms_blocked_code = None
    log.info("participant %s: SMS block (error %s) lifted", fresh.study_id, code)
    return True
