"""The coordinators' queue: messages the service could not place, hand-offs, late
answers, alerts nobody could be texted about. One function opens an item, whoever
puts it there (the inbound handling, a check-in conflict, an alert)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from service.actions.access import in_site_scope
from service.actions.errors import Conflict, Forbidden, NotFound
from service.db.audit import audit
from service.db.hot_rows import insert_row
from service.db.models import InboundMessage, InboxItem, Participant
from service.domain.actors import Actor
from service.domain.states import AuditAction, InboxReason, InboxStatus
from service.runtime import Runtime

__all__ = ["InboxEntry", "close_item", "inbox_entry", "inbox_items", "open_inbox_item"]


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A queue item as staff read it through the API."""

    id: int
    reason: str
    status: str
    study_id: str | None
    site: str | None
    text: str | None  # the participant's message; a stranger's text stays out
    received_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None


def inbox_entry(item: InboxItem) -> InboxEntry:
    """``item`` with its participant and inbound message fetched."""
    participant, inbound = item.participant, item.inbound
    return InboxEntry(
        id=item.id,
        reason=item.reason,
        status=item.status,
        study_id=participant.study_id if participant else None,
        site=item.site_id,
        text=inbound.body if inbound and participant else None,
        received_at=inbound.received_at if inbound else None,
        created_at=item.created_at,
        closed_at=item.closed_at,
        closed_by=item.closed_by,
    )


async def open_inbox_item(
    rt: Runtime,
    reason: InboxReason,
    *,
    participant: Participant | None,
    site_code: str | None,
    inbound: InboundMessage | None = None,
) -> None:
    """Put something in the coordinators' queue (``GET /api/v1/inbox``), inside the
    caller's transaction. A message from an unknown number has no participant and no
    site: only staff who see every site see it. One cached INSERT (decision 0113:
    nobody reads the item back in the transaction that opens it)."""
    await insert_row(
        InboxItem,
        {
            "participant_id": participant.id if participant else None,
            "site_id": site_code,
            "inbound_id": inbound.id if inbound else None,
            "reason": reason,
            "created_at": rt.clock.now(),
        },
    )


def _visible(actor: Actor, item: InboxItem) -> bool:
    # Messages from unknown numbers belong to no site: those who see every site handle them.
    return actor.can_see_site(item.site_id)


async def inbox_items(actor: Actor, status: str = InboxStatus.OPEN) -> list[InboxItem]:
    """Every item of the actor's sites, newest first (the API pages it: views.inbox_page)."""
    query = InboxItem.all().prefetch_related("participant", "inbound")
    if status != "all":
        query = query.filter(status=status)
    query = in_site_scope(query, actor)  # as _visible: a site-less item -> all-site staff only
    return list(await query.order_by("-created_at", "-id"))


async def close_item(rt: Runtime, actor: Actor, item_id: int, note: str | None) -> InboxItem:
    if not actor.can_write:
        raise Forbidden("this role may read but not close queue items")
    item = await InboxItem.get_or_none(id=item_id)
    if item is None or not _visible(actor, item):
        raise NotFound(f"no queue item {item_id}")
    if item.status != InboxStatus.OPEN:
        raise Conflict("this item is closed already", field="id")
    now = rt.clock.now()
    async with in_transaction():
        item.status, item.closed_at, item.closed_by = InboxStatus.CLOSED, now, actor.label
        await item.save(update_fields=["status", "closed_at", "closed_by"])
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.INBOX_CLOSE,
            entity="inbox_item",
            entity_id=item.id,
            changes={"reason": item.reason},
            reason=note,
        )
    await item.fetch_related("participant", "inbound")  # as inbox_items returns them
    return item
