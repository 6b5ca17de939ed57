"""A text from an unknown number, handled by a person: read the number (audited), or
give the number to a participant (a phone change, audited) so the text joins their
record.

Why a person: a participant who changed phones without telling the site texts from a
number no participant has. The service cannot guess who it is; whoever sees every
site (such items belong to no site) reads the text, and the number only when needed,
each reading on record.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from service.actions.access import participant_for
from service.actions.errors import Conflict, Forbidden, NotFound
from service.actions.participants import update_participant
from service.db.audit import audit
from service.db.models import InboundMessage, InboxItem, Participant
from service.domain.actors import Actor
from service.domain.states import AuditAction, InboxReason
from service.runtime import Runtime

ATTACH_REASON = "the number of a text from the coordinators' queue"


async def _stranger_item(actor: Actor, item_id: int) -> tuple[InboxItem, InboundMessage]:
    item = await InboxItem.get_or_none(id=item_id).prefetch_related("inbound")
    if item is None or not actor.can_see_site(item.site_id):
        raise NotFound(f"no queue item {item_id}")
    inbound = item.inbound
    if item.reason != InboxReason.UNKNOWN_SENDER or inbound is None:
        raise Conflict("this item is not a text from an unknown number", field="id")
    return item, inbound


async def reveal_sender(rt: Runtime, actor: Actor, item_id: int) -> str:
    """The full number of an unknown sender's text; the reading is audited."""
    item, inbound = await _stranger_item(actor, item_id)
    await audit(
        at=rt.clock.now(),
        actor=actor.label,
        action=AuditAction.INBOX_NUMBER_SHOWN,
        entity="inbox_item",
        entity_id=item.id,
        changes={"reason": item.reason},
    )
    return inbound.from_phone


async def attach_to_participant(
    rt: Runtime, actor: Actor, item_id: int, study_id: str
) -> Participant:
    """Make the text's number the participant's phone (the same action and audit as a
    phone change on their page), and move the texts from that number that reached
    nobody to the participant's record and their site's queue."""
    if not actor.can_write:
        raise Forbidden("this role may read but not change participants")
    item, inbound = await _stranger_item(actor, item_id)
    try:
        participant = await participant_for(actor, study_id)
    except NotFound as exc:  # the typed study id, not the item: the person can correct it
        raise NotFound(exc.message, field="study_id") from None
    phone = inbound.from_phone
    async with in_transaction():
        participant = await update_participant(
            rt, actor, participant.study_id, {"phone": phone}, reason=ATTACH_REASON
        )
        strangers = InboundMessage.filter(from_phone=phone, participant_id=None)
        ids = list(await strangers.values_list("id", flat=True))
        await InboundMessage.filter(id__in=ids).update(participant_id=participant.id)
        await InboxItem.filter(inbound_id__in=ids, participant_id=None).update(
            participant_id=participant.id, site_id=participant.site_id
        )
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.INBOX_ATTACH,
            entity="inbox_item",
            entity_id=item.id,
            changes={"study_id": participant.study_id, "messages": len(ids)},
        )
    return participant
