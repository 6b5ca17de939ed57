"""Understanding an inbound SMS from a known participant: what it answers.

In this order: a keyword (``_keywords``) in any state; then a red-flag report ("me
duele mucho el pecho", ``_reports``) when no dialogue is open or the message answers
nothing in it; then the open check-in conversation; outside one, SINTOMAS; "SI" right
after a day-before reminder as a visit confirmation, "CANCELAR" after one as a request
to reschedule (the coordinators' queue); a recent check-in prompt that
this message starts answering; anything else goes to the coordinators' queue with the
reason the red-flag reading gives (about someone else, a question, negated, unclear,
below the threshold), "late answer" for what reads as a check-in answer after its
prompt closed, else "not understood", and the participant hears "we received it" (at
most a few times an hour: ``_reply_cap``).

In a dialogue, a red flag is acted on the moment it is chosen ("1 4": chest pain): the
answers so far are stored as an incomplete check-in, which raises the alert and
queues the advice at once; the severity and temperature questions that follow refine
that record and its alert (``alerts.alert_once``), never a second alert, and a
participant who stops half-way has lost nothing. Everything here runs inside the
webhook's transaction; answers are queued, never sent.
"""

from __future__ import annotations

from datetime import timedelta

from service.actions.inbound._checkins import store_sms_checkin
from service.actions.inbound._context import (
    confirmable_visit,
    conversation_from_prompt,
    was_prompted,
)
from service.actions.inbound._keywords import (
    close_conversation,
    help_reply,
    opt_in,
    opt_out,
    partial_checkin,
)
from service.actions.inbound._reports import (
    queue_reason,
    start_symptoms_on_demand,
    unprompted_report,
)
from service.actions.inbound._work import Work, queue_for_people, reply
from service.actions.outbox import blocked_by_opt_out
from service.db.audit import audit
from service.db.hot_rows import encode, first_row
from service.db.models import Conversation, InboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import Awaiting, ConversationState, Outgoing, Step, advance
from service.domain.keywords import Keyword, classify_keyword
from service.domain.replies import parse_symptom_choices, parse_yes_no
from service.domain.safety import evaluate_answers
from service.domain.states import AuditAction, ConversationStatus, InboundHandling, InboxReason
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["CONFIRM_WINDOW", "understand"]

CONFIRM_WINDOW = timedelta(days=8)


async def understand(
    rt: Runtime, participant: Participant, inbound: InboundMessage, sms: InboundSms
) -> Work:
    """Decide what the message is and queue its answers (the caller stores the rest)."""
    conversation = await first_row(
        Conversation,
        '"participant_id"=? AND "status"=?',
        [participant.id, encode(Conversation, "status", ConversationStatus.OPEN)],
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
    reading = rt.red_flags.read(inbound.body)
    report = unprompted_report(rt, state, inbound.body, reading, rt.clock.now())
    if report is not None:  # unasked, or no answer to the open question; even opted out
        return Work(handling=InboundHandling.REPORT, report=report)
    if participant.opted_out:  # no reply goes back, but a person reads it
        await queue_for_people(rt, participant, inbound, InboxReason.WHILE_OPTED_OUT)
        return Work(handling=InboundHandling.WHILE_OPTED_OUT)
    if conversation is None and keyword is Keyword.SYMPTOMS:
        work = Work(handling=InboundHandling.SYMPTOMS_ON_DEMAND)
        out = await start_symptoms_on_demand(rt, participant, inbound)
        await reply(rt, participant, inbound, out, 0, work)
        return work
    if conversation is None and keyword is Keyword.CANCEL_VISIT:
        # "CANCELAR" after a visit reminder: the visit, not the study (keywords.py).
        visit = await confirmable_visit(rt, participant, within=CONFIRM_WINDOW)
        if visit is not None:
            await queue_for_people(rt, participant, inbound, InboxReason.RESCHEDULE)
            work = Work(handling=InboundHandling.QUEUED, in_queue=True)
            await reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
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
    reason = queue_reason(reading)
    if reason is InboxReason.NOT_UNDERSTOOD and await _late_answer(rt, participant, inbound):
        reason = InboxReason.LATE_ANSWER
    await queue_for_people(rt, participant, inbound, reason)
    work = Work(handling=InboundHandling.QUEUED, in_queue=True)
    await reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
    return work


async def _late_answer(rt: Runtime, participant: Participant, inbound: InboundMessage) -> bool:
    """ "1 4", "0", "no": an answer to a check-in whose prompt closed too long ago."""
    answer = (
        parse_symptom_choices(inbound.body, rt.protocol.symptoms) is not None
        or parse_yes_no(inbound.body) is not None
    )
    return answer and await was_prompted(rt, participant)


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
    raised = list(conversation.state.get("raised", []))
    if step.state is not None:
        raised = await _alert_at_once(rt, participant, inbound, step.state, raw_texts, raised, work)
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
    conversation.state = {"domain": step.state.to_dict(), "raw_texts": raw_texts, "raised": raised}
    conversation.updated_at = now
    await conversation.save(update_fields=["state", "updated_at"])
    return work


async def _alert_at_once(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    state: ConversationState,
    raw_texts: list[str],
    raised: list[str],
    work: Work,
) -> list[str]:
    """Store the answers so far when they hold a finding not yet acted on (a red flag
    just chosen): its alert and advice go out now (module docstring). Returns the
    finding codes acted on, kept with the conversation."""
    answers = state.snapshot()
    if answers is None:
        return raised
    codes = {f.code for f in evaluate_answers(answers, rt.protocol.symptoms, rt.protocol.safety)}
    if codes <= set(raised):
        return raised
    advice, alerted = await store_sms_checkin(
        rt,
        participant,
        inbound,
        state.occurrence_key,
        state.questionnaire.value,
        answers,
        raw_texts,
        False,
        False,
    )
    work.alerted = work.alerted or alerted
    work.replies.extend([advice] if advice is not None else [])
    return sorted(codes | set(raised))


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
