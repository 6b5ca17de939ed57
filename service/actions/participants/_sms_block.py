"""Lifting a number's SMS block, by staff with a reason.

The provider's permanent refusals (30005 unknown handset, 30006 landline, 30004
blocked) stop every SMS to the participant (``outbox.block_participant``). A carrier
can be wrong, a number can be ported to a mobile, a participant can say it works: a
coordinator lifts the block, says why, and the next message tries the number again
(if the provider refuses it once more, it is blocked again, with the new date).
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from service.actions.access import participant_for
from service.actions.errors import Conflict, FieldInvalid, Forbidden
from service.actions.outbox import blocked_by_opt_out, unblock_participant
from service.db.models import Participant
from service.domain.actors import Actor
from service.runtime import Runtime

REASON_MAX = 500


async def lift_sms_block(rt: Runtime, actor: Actor, study_id: str, reason: str) -> Participant:
    if not actor.can_write:
        raise Forbidden("this role may read but not change participants")
    participant = await participant_for(actor, study_id)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise FieldInvalid(f"reason must be 1 to {REASON_MAX} characters", field="reason")
    if participant.sms_blocked_code is None:
        raise Conflict("the number is not blocked", field="reason")
    if blocked_by_opt_out(rt, participant):
        raise Conflict(
            "the participant opted out at the carrier; only their INICIAR lifts it",
            field="reason",
        )
    async with in_transaction():
        await unblock_participant(rt, participant, actor=actor, reason=reason)
    return participant
