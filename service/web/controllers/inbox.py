"""Staff routes for the coordinators' queue."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from service.actions.alerts import InboxEntry, close_item, inbox_entry
from service.actions.views import inbox_page
from service.domain.actors import Actor
from service.domain.paging import DEFAULT_LIMIT
from service.domain.states import InboxStatus
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.paging import LINK_HEADER, Cursor, Limit, paged
from service.web.schemas.alerts import CloseIn, InboxItemOut

# A queue item's status, or "all".
_STATUS_FILTER = f"^({'|'.join([*InboxStatus, 'all'])})$"


def _out(item: InboxEntry) -> InboxItemOut:
    return msgspec.convert(item, InboxItemOut, from_attributes=True)


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["inbox"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get(
        "/",
        summary="The coordinators' queue: texts not understood, red flags about someone "
        "else, asked about, negated or unclear, hand-offs, late answers (each item's "
        "reason says which); newest first, a page at a time",
        response_headers=[LINK_HEADER],
    )
    async def list_items(
        self,
        request: Request[Any, Any, Any],
        actor: Actor,
        status: Annotated[str, Parameter(pattern=_STATUS_FILTER)] = InboxStatus.OPEN,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[list[InboxItemOut]]:
        page = await inbox_page(actor, status, limit=limit, cursor=cursor)
        return paged(request, [_out(inbox_entry(item)) for item in page.items], page.next_cursor)

    @post("/{item_id:int}/close", summary="Mark a queue item handled", status_code=200)
    async def close(
        self, rt: Runtime, actor: Actor, item_id: FromPath[int], data: CloseIn | None = None
    ) -> InboxItemOut:
        item = await close_item(rt, actor, item_id, data.note if data else None)
        return _out(inbox_entry(item))
