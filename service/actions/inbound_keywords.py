"""Opt-out, opt-in and help keywords in an inbound SMS: they work in any state.

"BAJA" must stop our texts whatever we last asked, so keywords are handled before
the dialogue (:mod:`service.actions.inbound_dialogue`). An opt-out that ends an open
check-in dialogue keeps what was already understood (flagged incomplete). When Twilio
handled the keyword itself (``OptOutType`` in the form) it has confirmed already and
blocks our reply, so the service confirms only the words Twilio did not know, once.
"""

from __future__ import annotations

from service.actions.inbound_work import Finished, Work, actor, reply
from service.actions.replanning import replan_participant
from service.db.models import Conversation, InboundMessage, Participant
from service.domain.conversation import ConversationState, Outgoing
from service.domain.states import ConversationStatus, InboundHandling
from service.runtime import Runtime

__all__ = ["close_conversation", "help_reply", "opt_in", "opt_out", "partial_checkin"]


async def opt_out(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    conversation: Conversation | None,
    state: ConversationState | None,
    form: dict[str, str],
) -> Work:
    work = Work(handling=InboundHandling.OPT_OUT)
    if conversation is not None and state is not None:
        work.finished = partial_checkin(conversation, state, inbound, late=False)
        await close_conversation(rt, conversation)
    if participant.opted_out:
        return work  # confirm once
    participant.opted_out = True
    await participant.save(update_fields=["opted_out", "updated_at"])
    await replan_participant(rt, participant, actor=actor(participant))
    if not form.get("OptOutType"):  # Twilio confirms its own keywords and blocks ours
        await reply(rt, participant, inbound, Outgoing("optout.confirm"), 0, work)
    return work


async def opt_in(
    rt: Runtime, participant: Participant, inbound: InboundMessage, form: dict[str, str]
) -> Work:
    work = Work(handling=InboundHandling.OPT_IN)
    was_blocked = participant.opted_out or participant.sms_blocked_code == 21610
    participant.opted_out = False
    if participant.sms_blocked_code == 21610:
        participant.sms_blocked_code = None
    await participant.save(update_fields=["opted_out", "sms_blocked_code", "updated_at"])
    await replan_participant(rt, participant, actor=actor(participant))
    if was_blocked and not form.get("OptOutType"):
        await reply(rt, participant, inbound, Outgoing("optin.confirm"), 0, work)
    return work


async def help_reply(
    rt: Runtime, participant: Participant, inbound: InboundMessage, form: dict[str, str]
) -> Work:
    work = Work(handling=InboundHandling.HELP)
    if (form.get("OptOutType") or "").upper() != "HELP":  # Twilio answered it already
        await reply(rt, participant, inbound, Outgoing("help.reply"), 0, work)
    return work


def partial_checkin(
    conversation: Conversation, state: ConversationState, inbound: InboundMessage, *, late: bool
) -> Finished | None:
    """What was understood before the conversation ended early (kept, flagged incomplete)."""
    snapshot = state.snapshot()
    if snapshot is None or not snapshot.symptoms:
        return None
    raw = list(conversation.state.get("raw_texts", []))
    if inbound.body not in raw[-1:]:
        raw.append(inbound.body)
    return (conversation.checkin_key, state.questionnaire.value, snapshot, raw, late, False)


async def close_conversation(rt: Runtime, conversation: Conversation) -> None:
    conversation.status = ConversationStatus.CLOSED
    conversation.updated_at = rt.clock.now()
    await conversation.save(update_fields=["status", "state", "updated_at"])
