"""Staff routes for the coordinators' queue."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from service.actions.actors import Actor
from service.actions.inbox import close_item, inbox_items
from service.domain.states import InboxStatus
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.schemas.alerts import CloseIn, InboxItemOut

# A queue item's status, or "all".
_STATUS_FILTER = f"^({'|'.join([*InboxStatus, 'all'])})$"


def _out(item: Any) -> InboxItemOut:
    """A queue row as the actions return it (participant and inbound fetched); typed
    loosely so the web layer reads rows without importing the models."""
    participant = item.participant
    inbound = item.inbound
    return InboxItemOut(
        id=item.id,
        reason=item.reason,
        status=item.status,
        study_id=participant.study_id if participant else None,
        site=item.site_id,
        text=inbound.body if inbound and participant else None,  # strangers' texts stay out
        received_at=inbound.received_at if inbound else None,
        created_at=item.created_at,
        closed_at=item.closed_at,
        closed_by=item.closed_by,
    )


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["inbox"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/", summary="The coordinators' queue: unplaced replies, hand-offs, late answers")
    async def list_items(
        self,
        actor: Actor,
        status: Annotated[str, Parameter(pattern=_STATUS_FILTER)] = InboxStatus.OPEN,
    ) -> list[InboxItemOut]:
        return [_out(item) for item in await inbox_items(actor, status)]

    @post("/{item_id:int}/close", summary="Mark a queue item handled", status_code=200)
    async def close(
        self, rt: Runtime, actor: Actor, item_id: FromPath[int], data: CloseIn | None = None
    ) -> InboxItemOut:
        item = await close_item(rt, actor, item_id, data.note if data else None)
        return _out(item)
