"""A check-in finished by SMS, stored in the transaction of the message that finished it.

The inbound webhook calls :func:`store_sms_checkin` inside its own transaction, so the
message, the conversation step, the check-in version, its alert with the on-call SMS
row and the participant's safety advice commit together or not at all: a crash can no
longer leave a stored answer without its check-in. Nothing is sent here; the webhook
wakes the outbox after the commit.
"""

from __future__ import annotations

from service.actions.alerts import open_inbox_item
from service.actions.checkins import CheckinSubmission, enqueue_advice, store_submission
from service.actions.errors import Conflict
from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import PregnancyAnswer, SymptomAnswers
from service.domain.states import InboxReason
from service.runtime import Runtime

__all__ = ["store_sms_checkin"]


async def store_sms_checkin(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    key: str,
    questionnaire: str,
    answers: SymptomAnswers | PregnancyAnswer,
    raw_texts: list[str],
    late: bool,
    complete: bool,
) -> tuple[OutboundMessage | None, bool]:
    """Store the check-in and its alert; queue the advice. Returns the advice row (or
    None) and whether an on-call SMS row was queued."""
    try:
        result, notice = await store_submission(
            rt,
            participant,
            CheckinSubmission(
                checkin_key=key,
                questionnaire=questionnaire,
                channel=inbound.channel,  # sms or whatsapp: what carried the answer
                answers=answers,
                raw_texts=raw_texts,
                late=late,
                actor_label=participant_label(participant.study_id),
                complete=complete,
            ),
        )
    except Conflict:  # the app changed this check-in at this very moment: people decide
        await open_inbox_item(
            rt,
            InboxReason.CHECKIN_CONFLICT,
            participant=participant,
            site_code=participant.site_id,
            inbound=inbound,
        )
        return None, False
    alerted = notice is not None and notice.row is not None
    if not result.advice:
        return None, alerted
    return await enqueue_advice(rt, participant, result.advice, key), alerted
