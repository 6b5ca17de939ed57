"""What handling one inbound SMS decided, and queuing its answers within the hourly cap.

Shared by the keyword handling (``inbound_keywords``) and the dialogue
(``inbound_dialogue``): both record their outcome in a :class:`Work` and queue every
answer through :func:`reply`, so the cap (``reply_cap``) and the reply rows'
idempotent keys (MessageSid and position) are the same whatever answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from service.actions.alerts import open_inbox_item
from service.actions.inbound._reply_cap import may_auto_reply
from service.actions.outbox import enqueue_now
from service.db.hot_rows import any_row
from service.db.models import InboundMessage, InboxItem, OutboundMessage, Participant
from service.domain.actors import Actor, participant_actor
from service.domain.conversation import Outgoing, PregnancyAnswer, SymptomAnswers
from service.domain.red_flags import Report
from service.domain.states import InboundHandling, InboxReason, MessageKind
from service.runtime import Runtime

__all__ = ["REPLY_TTL", "Finished", "Work", "actor", "queue_for_people", "reply"]

REPLY_TTL = timedelta(hours=2)

# A check-in the message finished: key, questionnaire, answers, raw texts, late, complete.
Finished = tuple[str, str, SymptomAnswers | PregnancyAnswer, list[str], bool, bool]


@dataclass
class Work:
    """What the transaction decided and queued."""

    handling: InboundHandling
    replies: list[OutboundMessage] = field(default_factory=list)
    finished: Finished | None = None
    capped: int = 0  # acknowledgements not sent: the hour's cap was reached
    alerted: bool = False  # an on-call SMS row was queued
    report: Report | None = None  # an unprompted red-flag report (``_reports``)
    # This transaction put the message in the coordinators' queue already: a capped
    # reply need not look for its item (a statement a message in a burst).
    in_queue: bool = False


def actor(participant: Participant) -> Actor:
    return participant_actor(participant.study_id, participant.id)


async def queue_for_people(
    rt: Runtime, participant: Participant | None, inbound: InboundMessage, reason: InboxReason
) -> None:
    """Put the message in the coordinators' queue (``GET /api/v1/inbox``)."""
    site_code = participant.site_id if participant else None
    await open_inbox_item(rt, reason, participant=participant, site_code=site_code, inbound=inbound)


async def reply(
    rt: Runtime,
    participant: Participant,
    inbound: InboundMessage,
    out: Outgoing,
    n: int,
    work: Work,
) -> None:
    """Queue one answer in ``work``, unless the number's hourly cap is used up (then the
    message goes to the coordinators' queue, if it is not there already)."""
    if not await may_auto_reply(rt, participant, out.message_key):
        work.capped += 1
        if not work.in_queue and not await any_row(InboxItem, '"inbound_id"=?', [inbound.id]):
            await queue_for_people(rt, participant, inbound, InboxReason.REPLIES_CAPPED)
        work.in_queue = True
        return
    params: dict[str, Any] = dict(out.params)
    params.update({f"{name}_key": key for name, key in out.key_params.items()})
    row = await enqueue_now(
        rt,
        participant=participant,
        kind=MessageKind.REPLY,
        purpose=f"reply:{out.message_key}",
        occurrence=f"{inbound.message_sid}:{n}",
        message_key=out.message_key,
        params=params,
        language=participant.language,
        expires_in=REPLY_TTL,
    )
    work.replies.append(row)
