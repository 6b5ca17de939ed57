"""Safety advice to the participant after a check-in ("call 131", "contact your
team"): a ``reply`` row due now, sent by the outbox like every other message."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Final

from tortoise.transactions import in_transaction

from service.actions.outbox import enqueue_now, wake
from service.db.models import OutboundMessage, Participant
from service.domain.states import MessageKind
from service.runtime import Runtime

__all__ = ["ADVICE_TTL", "advise_participant", "enqueue_advice"]

# "Call 131 now" hours later is still worth sending; a day later it is confusing.
ADVICE_TTL: Final = timedelta(hours=2)
_OCCURRENCE_MAX: Final = 64


def _occurrence(text: str) -> str:
    if len(text) <= _OCCURRENCE_MAX:
        return text
    return "h:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


async def enqueue_advice(
    rt: Runtime, participant: Participant, advice_key: str, occurrence: str
) -> OutboundMessage:
    """The safety advice (``safety.emergency`` / ``.contact_team``) as a ``reply`` row
    due now, inside the caller's transaction. The same advice for the same occurrence
    (usually the check-in key) is one row: a correction that changes nothing is not
    re-advised, one that turns "contact your team" into "call 131" is. The dispatcher
    refuses it to an opted-out or blocked number."""
    return await enqueue_now(
        rt,
        participant=participant,
        kind=MessageKind.REPLY,
        purpose=f"advice:{advice_key}",
        occurrence=_occurrence(occurrence),
        message_key=advice_key,
        params={},
        language=participant.language,
        expires_in=ADVICE_TTL,
    )


async def advise_participant(
    rt: Runtime, participant: Participant, advice_key: str, occurrence: str
) -> OutboundMessage:
    """:func:`enqueue_advice` in a transaction of its own, then wake the outbox."""
    async with in_transaction():
        row = await enqueue_advice(rt, participant, advice_key, occurrence)
    wake(rt)
    return row
