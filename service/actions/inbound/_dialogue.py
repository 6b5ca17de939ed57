"""Understanding an inbound SMS from a known participant: what it answers.

In this order: a keyword (:mod:`service.actions.inbound`) in any state; then
a red-flag report ("dolor de pecho", :mod:`service.actions.inbound`) when no
dialogue is open or the message answers nothing in it; then the open check-in
conversation; outside one, SINTOMAS; "SI" right after a day-before reminder as a
visit confirmation; a recent check-in prompt that this message starts answering;
anything else goes to the coordinators' queue and the participant hears "we
received it" (at most a few times an hour: ``reply_cap``). Everything here runs
inside the webhook's transaction; answers are queued, never sent.
"""

from __future__ import annotations

from datetime import timedelta

from service.actions.inbound._context import confirmable_visit, conversation_from_prompt
from service.actions.inbound._keywords import (
    close_conversation,
    help_reply,
    opt_in,
    opt_out,
    partial_checkin,
)
from service.actions.inbound._reports import start_symptoms_on_demand, unprompted_report
from service.actions.inbound._work import Work, queue_for_people, reply
from service.actions.outbox import blocked_by_opt_out
from service.db.audit import audit
from service.db.models import Conversation, InboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import Awaiting, ConversationState, Outgoing, Step, advance
from service.domain.keywords import Keyword, classify_keyword
from service.domain.states import AuditAction, ConversationStatus, InboundHandling, InboxReason
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["CONFIRM_WINDOW", "understand"]

CONFIRM_WINDOW = timedelta(days=8)


async def understand(
    rt: Runtime, participant: Participant, inbound: InboundMessage, sms: InboundSms
) -> Work:
    """Decide what the message is and queue its answers (the caller stores the rest)."""
    conversation = await Conversation.get_or_none(
        participant_id=participant.id, status=ConversationStatus.OPEN
    )
    state = ConversationState.from_dict(conversation.state["domain"]) if conversation else None
    keyword = classify_keyword(
        inbound.body,
        sms.opt_out_type or None,
        awaiting_severity=state is not None and state.step is Awaiting.SEVERITY,
        subscribed=not participant.opted_out and not blocked_by_opt_out(rt, participant),
    )
    if keyword is Keyword.OPT_OUT:
        return await opt_out(rt, participant, inbound, conversation, state, sms)
    if keyword is Keyword.OPT_IN:
        return await opt_in(rt, participant, inbound, sms)
    if keyword is Keyword.HELP:
        return await help_reply(rt, participant, inbound, sms)
    report = unprompted_report(rt, state, inbound.body, rt.clock.now())
    if report is not None:  # unasked, or no answer to the open question; even opted out
        return Work(handling=InboundHandling.REPORT, report=report)
    if participant.opted_out:
        return Work(handling=InboundHandling.WHILE_OPTED_OUT)
    if conversation is None and keyword is Keyword.SYMPTOMS:
        work = Work(handling=InboundHandling.SYMPTOMS_ON_DEMAND)
        out = await start_symptoms_on_demand(rt, participant, inbound)
        await reply(rt, participant, inbound, out, 0, work)
        return work
    if conversation is None and keyword is Keyword.YES:
        # "SI" answers whatever we asked last: a visit reminder or a check-in prompt.
        confirmed = await _confirm_next_visit(rt, participant, inbound)
        if confirmed is not None:
            return confirmed
    if conversation is None:
        conversation, state = await conversation_from_prompt(rt, participant)
    if conversation is not None and state is not None:
        return await _continue(rt, participant, inbound, conversation, state)
    await queue_for_people(rt, participant, inbound, InboxReason.UNPLACED)
    work = Work(handling=InboundHandling.UNPLACED)
    await reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
    return work


async def _continue(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    conversation: Conversation,
    state: ConversationState,
) -> Work:
    now = rt.clock.now()
    raw_texts = [*conversation.state.get("raw_texts", []), inbound.body]
    step: Step = advance(state, inbound.body, now, rt.protocol.symptoms)
    work = Work(handling=InboundHandling.CHECKIN_ANSWER)
    for n, out in enumerate(step.outgoing):
        await reply(rt, participant, inbound, out, n, work)
    if step.expired or step.handoff:
        # Ended early: keep what was understood (flagged), hand the rest to people.
        inbound.late = step.expired
        work.handling = (
            InboundHandling.CHECKIN_LATE if step.expired else InboundHandling.CHECKIN_HANDOFF
        )
        conversation.state = {**conversation.state, "raw_texts": raw_texts}
        work.finished = partial_checkin(conversation, state, inbound, late=step.expired)
        await close_conversation(rt, conversation)
        reason = InboxReason.LATE_ANSWER if step.expired else InboxReason.UNPARSEABLE
        await queue_for_people(rt, participant, inbound, reason)
        return work
    if step.answers is not None:
        work.finished = (
            conversation.checkin_key,
            state.questionnaire.value,
            step.answers,
            raw_texts,
            False,
            True,
        )
        await close_conversation(rt, conversation)
        return work
    assert step.state is not None
    conversation.state = {"domain": step.state.to_dict(), "raw_texts": raw_texts}
    conversation.updated_at = now
    await conversation.save(update_fields=["state", "updated_at"])
    return work


async def _confirm_next_visit(
    rt: Runtime, participant: Participant, inbound: InboundMessage
) -> Work | None:
    """ "SI" after a day-before reminder confirms that visit."""
    visit = await confirmable_visit(rt, participant, within=CONFIRM_WINDOW)
    if visit is None:
        return None
    await audit(
        at=rt.clock.now(),
        actor=participant_label(participant.study_id),
        action=AuditAction.VISIT_CONFIRM,
        entity="participant",
        entity_id=participant.study_id,
        changes={"visit": visit["visit_code"], "date": visit["visit_date"]},
    )
    work = Work(handling=InboundHandling.VISIT_CONFIRMED)
    await reply(rt, participant, inbound, Outgoing("visit.confirmed", visit), 0, work)
    return work
