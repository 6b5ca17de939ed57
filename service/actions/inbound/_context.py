"""What an inbound SMS may be answering: a recent check-in prompt, a visit reminder.

Both are read from the outbound rows we sent (never guessed from the text alone), so
"SI" confirms a visit only right after its reminder, and "0" starts a check-in
dialogue only while its prompt is open or recently expired (kept, flagged late).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from service.actions.checkins import LATE_ANSWER_WINDOW, checkin_key_for
from service.db.hot_rows import encode, encoded_all, first_row, in_list
from service.db.models import Checkin, Conversation, OutboundMessage, Participant
from service.domain.conversation import ConversationState, start_conversation
from service.domain.protocol import Questionnaire
from service.domain.states import SENT, ConversationStatus, MessageKind
from service.runtime import Runtime

__all__ = ["confirmable_visit", "conversation_from_prompt", "open_conversation", "was_prompted"]


# Check-in prompts sent to a participant up to an instant (one cached statement: 0113).
_SENT = sorted(SENT)
_PROMPTS_SENT_BY = (
    f'"participant_id"=? AND "kind"=? AND "status" IN {in_list(len(_SENT))} AND "sent_at"<=?'
)


def _prompt_params(participant: Participant) -> list[Any]:
    return [
        participant.id,
        encode(OutboundMessage, "kind", MessageKind.CHECKIN),
        *encoded_all(OutboundMessage, "status", _SENT),
    ]


async def conversation_from_prompt(
    rt: Runtime, participant: Participant
) -> tuple[Conversation | None, ConversationState | None]:
    """A reply soon after a check-in prompt starts answering it."""
    now = rt.clock.now()
    prompt = await first_row(
        OutboundMessage,
        _PROMPTS_SENT_BY,
        [*_prompt_params(participant), encode(OutboundMessage, "sent_at", now)],
        order_by='"sent_at" DESC',
    )
    if prompt is None or prompt.expires_at is None or prompt.sent_at is None:
        return None, None
    key = checkin_key_for(prompt)
    already = await Checkin.filter(participant_id=participant.id, checkin_key=key).exists()
    late_window = prompt.expires_at + LATE_ANSWER_WINDOW
    if already or now >= late_window:
        return None, None
    state = start_conversation(
        Questionnaire(prompt.params.get("questionnaire", "symptoms")),
        key,
        prompt.sent_at,
        prompt.expires_at,
    )
    return await open_conversation(rt, participant, state), state


async def was_prompted(rt: Runtime, participant: Participant) -> bool:
    """Whether a check-in prompt was ever sent to the participant (a bare "1 4" or
    "no" then reads as a late answer to one)."""
    return await OutboundMessage.filter(
        participant_id=participant.id,
        kind=MessageKind.CHECKIN,
        status__in=SENT,
        sent_at__lte=rt.clock.now(),
    ).exists()


async def open_conversation(
    rt: Runtime, participant: Participant, state: ConversationState
) -> Conversation:
    """Open (or reopen: one row per participant) the participant's check-in dialogue
    at ``state``, with no replies yet; call inside the inbound transaction."""
    conversation, _ = await Conversation.update_or_create(
        defaults={
            "checkin_key": state.occurrence_key,
            "state": {"domain": state.to_dict(), "raw_texts": []},
            "status": ConversationStatus.OPEN,
            "started_at": state.started_at,
            "expires_at": state.expires_at,
            "updated_at": rt.clock.now(),
        },
        participant_id=participant.id,
    )
    return conversation


async def confirmable_visit(
    rt: Runtime, participant: Participant, *, within: timedelta
) -> dict[str, str] | None:
    """The visit (``visit_code``, ``visit_date``) that "SI" confirms now: the one of the
    latest reminder sent ``within`` the window, if that visit is today or later and no
    check-in prompt was sent after the reminder (then "SI" answers the prompt)."""
    now = rt.clock.now()
    today = now.astimezone(ZoneInfo(participant.timezone)).date()
    reminder = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind=MessageKind.REMINDER,
            status__in=SENT,
            sent_at__gte=now - within,
        )
        .order_by("-sent_at")
        .first()
    )
    if reminder is None or reminder.params.get("visit_date", "") < today.isoformat():
        return None
    later_prompt = await OutboundMessage.filter(
        participant_id=participant.id,
        kind=MessageKind.CHECKIN,
        status__in=SENT,
        sent_at__gt=reminder.sent_at,
    ).exists()
    if later_prompt:
        return None
    return {
        "visit_code": str(reminder.params["visit_code"]),
        "visit_date": str(reminder.params["visit_date"]),
    }
