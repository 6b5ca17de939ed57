"""A participant changing their own preferences from the app.

``participants.update_participant`` is the staff path (it requires a writing role
and can change the phone, consent and time zone). A participant may change only
what is theirs to choose, so this is a separate, narrower use case: language,
preferred reminder time, pause, and the channel (SMS or WhatsApp, with their own
opt-in to WhatsApp). Like every write it validates first, then
saves, audits and re-plans the pending messages in one transaction, so the next
reminder already follows the new hour (or stops, when paused).
"""

from __future__ import annotations

from typing import Any, Final

from tortoise.transactions import in_transaction

from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.actions.outbox import replan_participant
from service.actions.participants._channel import CHANNEL_AUDITED, OptIn, channel_changes
from service.db.audit import audit, diff
from service.db.models import Participant
from service.domain import enrollment as rules
from service.domain.actors import Actor
from service.domain.languages import LANGUAGES
from service.domain.states import AuditAction
from service.runtime import Runtime

__all__ = ["PREFERENCE_FIELDS", "own_participant", "update_own_preferences"]

PREFERENCE_FIELDS: Final = ("language", "preferred_time", "paused")


async def own_participant(actor: Actor) -> Participant:
    """The participant a participant token belongs to; nobody else's, ever."""
    if actor.kind != "participant" or actor.participant_id is None:
        raise Forbidden("a participant token is required")
    participant = await Participant.get_or_none(id=actor.participant_id)
    if participant is None:
        raise NotFound("no such participant")
    return participant


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PREFERENCE_FIELDS:
            raise FieldInvalid(f"{name} cannot be changed from the app", field=name)
        if name == "language" and value not in LANGUAGES:
            raise FieldInvalid(f"language must be one of {', '.join(LANGUAGES)}", field=name)
        if name == "preferred_time" and value is not None:
            problem = rules.preferred_time_problem(value)
            if problem:
                raise FieldInvalid(f"preferred_time {problem}", field=name)
        if name == "paused" and not isinstance(value, bool):
            raise FieldInvalid("paused must be true or false", field=name)
        clean[name] = value
    return clean


async def update_own_preferences(rt: Runtime, actor: Actor, changes: dict[str, Any]) -> Participant:
    """``channel`` (omitted: unchanged) and ``whatsapp_opt_in`` (true: the participant
    agrees, here and now, to the statement the app showed) come with the three
    preferences; WhatsApp needs that agreement once."""
    participant = await own_participant(actor)
    changes = dict(changes)
    channel, agrees = changes.pop("channel", None), changes.pop("whatsapp_opt_in", False)
    clean = _clean(changes)
    if channel is not None or agrees:
        clean |= channel_changes(
            rt,
            actor,
            channel=channel,
            opt_in=OptIn("app") if agrees else None,
            language=clean.get("language", participant.language),
            current=participant,
        )
    if not participant.active:
        raise Conflict(
            "follow-up has ended; preferences can no longer change", code="follow_up_ended"
        )
    before = {name: getattr(participant, name) for name in (*PREFERENCE_FIELDS, *CHANNEL_AUDITED)}
    changed = diff(before, {**before, **{k: v for k, v in clean.items() if k in before}})
    if not changed:
        return participant
    async with in_transaction():
        for name, value in clean.items():
            setattr(participant, name, value)
        await participant.save(update_fields=[*clean, "updated_at"])
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.PARTICIPANT_PREFERENCES,
            entity="participant",
            entity_id=participant.study_id,
            changes=changed,
            reason="changed by the participant in the app",
        )
        await replan_participant(rt, participant, actor=actor)
    return participant
