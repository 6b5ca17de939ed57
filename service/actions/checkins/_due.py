"""Which check-in prompts a participant may answer now, or late.

A prompt is a planned ``checkin`` outbound row; its check-in key
(``purpose:occurrence``) is shared by the SMS conversation and the app, so both
answer the same prompt. Read-only: the app's list and the SMS webhook's choice of
conversation both come from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from service.actions.errors import FieldInvalid, NotFound
from service.db.models import Checkin, OutboundMessage, Participant
from service.domain.identities import checkin_key
from service.domain.protocol import Questionnaire
from service.domain.states import MessageKind, MessageStatus
from service.runtime import Runtime

__all__ = [
    "LATE_ANSWER_WINDOW",
    "DueCheckin",
    "answer_is_late",
    "checkin_key_for",
    "due_checkins",
    "recently_expired_checkins",
]

# A late answer is still taken (flagged late) this long after the prompt expired.
LATE_ANSWER_WINDOW: Final = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DueCheckin:
    """A check-in prompt that may be answered now (or late, for the expired list)."""

    checkin_key: str
    questionnaire: str  # a Questionnaire value: symptoms | pregnancy
    code: str  # the protocol's check-in code, e.g. symptoms_weekly
    message_key: str
    due_at: datetime
    expires_at: datetime
    params: dict[str, Any] = field(default_factory=dict)


def checkin_key_for(row: OutboundMessage) -> str:
    """The check-in key of a planned ``checkin`` prompt, shared by SMS and app."""
    return checkin_key(row.purpose, row.occurrence)


async def _unanswered(
    rt: Runtime, participant: Participant, rows: list[OutboundMessage], include_answered: bool
) -> list[DueCheckin]:
    keys = [checkin_key_for(row) for row in rows]
    answered: set[str] = set()
    if keys and not include_answered:
        found = await Checkin.filter(
            participant_id=participant.id, checkin_key__in=keys
        ).values_list("checkin_key", flat=True)
        answered = {str(key) for key in found}
    definitions = {f"checkin:{d.code}": d for d in rt.protocol.checkins}
    items: list[DueCheckin] = []
    for row, key in zip(rows, keys, strict=True):
        if key in answered or row.expires_at is None:
            continue
        definition = definitions.get(row.purpose)
        questionnaire = row.params.get("questionnaire") or (
            definition.questionnaire.value if definition else Questionnaire.SYMPTOMS.value
        )
        items.append(
            DueCheckin(
                checkin_key=key,
                questionnaire=str(questionnaire),
                code=row.purpose.removeprefix("checkin:"),
                message_key=row.message_key,
                due_at=row.send_at,
                expires_at=row.expires_at,
                params=dict(row.params),
            )
        )
    return items


async def due_checkins(
    rt: Runtime, participant: Participant, *, include_answered: bool = False
) -> list[DueCheckin]:
    """Prompts whose moment has come and which are still open (send_at <= now <
    expires_at, not cancelled or expired), oldest first, without a check-in yet
    unless ``include_answered`` (for corrections)."""
    now = rt.clock.now()
    rows = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind=MessageKind.CHECKIN,
            send_at__lte=now,
            expires_at__gt=now,
        )
        .exclude(status__in=(MessageStatus.CANCELLED, MessageStatus.EXPIRED))
        .order_by("send_at", "id")
    )
    return await _unanswered(rt, participant, list(rows), include_answered)


async def recently_expired_checkins(
    rt: Runtime,
    participant: Participant,
    *,
    within: timedelta = LATE_ANSWER_WINDOW,
    include_answered: bool = False,
) -> list[DueCheckin]:
    """Prompts that expired less than ``within`` ago: an answer now is stored as late."""
    now = rt.clock.now()
    rows = (
        await OutboundMessage.filter(
            participant_id=participant.id,
            kind=MessageKind.CHECKIN,
            expires_at__lte=now,
            expires_at__gt=now - within,
        )
        .exclude(status=MessageStatus.CANCELLED)
        .order_by("send_at", "id")
    )
    return await _unanswered(rt, participant, list(rows), include_answered)


async def answer_is_late(
    rt: Runtime, participant: Participant, key: str, questionnaire: str
) -> bool:
    """Whether an answer to ``key`` now is late; a key that cannot be answered is a 404.

    Only the participant's own prompts qualify (due now, or expired within the late
    window); an answered one still does, so a correction is a new version and an app
    retry is recognised as identical by the check-in submission.
    """
    due = await due_checkins(rt, participant, include_answered=True)
    match, late = next((d for d in due if d.checkin_key == key), None), False
    if match is None:
        expired = await recently_expired_checkins(rt, participant, include_answered=True)
        match, late = next((d for d in expired if d.checkin_key == key), None), True
    if match is None:
        raise NotFound(
            f"checkin_key {key!r} is not a check-in of yours that can be answered",
            field="checkin_key",
            code="checkin_closed",
        )
    if match.questionnaire != questionnaire:
        raise FieldInvalid(
            f"checkin_key is not a {questionnaire} check-in",
            field="checkin_key",
            code="checkin_mismatch",
        )
    return late
