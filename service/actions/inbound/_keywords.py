"""Opt-out, opt-in and help keywords in an inbound SMS: they work in any state.

"BAJA" must stop our texts whatever we last asked, so keywords are handled before
the dialogue (:mod:`service.actions.inbound`). An opt-out that ends an open
check-in dialogue keeps what was already understood (flagged incomplete). When the provider
handled the keyword itself (``InboundSms.opt_out_type``: Twilio's Advanced Opt-Out) it
has confirmed already and blocks our reply, so the service confirms only the words the
provider did not know, once.
"""

from __future__ import annotations

from service.actions.inbound._work import Finished, Work, actor, reply
from service.actions.outbox import blocked_by_opt_out, replan_participant
from service.db.models import Conversation, InboundMessage, Participant
from service.domain.conversation import ConversationState, Outgoing
from service.domain.states import ConversationStatus, InboundHandling
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["close_conversation", "help_reply", "opt_in", "opt_out", "partial_checkin"]


async def opt_out(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    conversation: Conversation | None,
    state: ConversationState | None,
    sms: InboundSms,
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
    if not sms.opt_out_type:  # the provider confirms its own keywords and blocks ours
        await reply(rt, participant, inbound, Outgoing("optout.confirm"), 0, work)
    return work


async def opt_in(
    rt: Runtime, participant: Participant, inbound: InboundMessage, sms: InboundSms
) -> Work:
    work = Work(handling=InboundHandling.OPT_IN)
    opted_out_at_provider = blocked_by_opt_out(rt, participant)
    was_blocked = participant.opted_out or opted_out_at_provider
    participant.opted_out = False
    if opted_out_at_provider:
        participant.sms_blocked_code = None
    await participant.save(update_fields=["opted_out", "sms_blocked_code", "updated_at"])
    await replan_participant(rt, participant, actor=actor(participant))
    if was_blocked and not sms.opt_out_type:
        await reply(rt, participant, inbound, Outgoing("optin.confirm"), 0, work)
    return work


async def help_reply(
    rt: Runtime, participant: Participant, inbound: InboundMessage, sms: InboundSms
) -> Work:
    work = Work(handling=InboundHandling.HELP)
    if (sms.opt_out_type or "").upper() != "HELP":  # the provider answered it already
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
