"""The queue's texts from unknown numbers: show the number (audited) and give it to a
participant (a phone change, audited), so nothing a stranger texted is hidden and the
participant who changed phones is found again.

``POST /dashboard/inbox/{id}/number`` answers the queue with that number shown (a
POST, so that reading it is a deliberate act under CSRF, and a reload asks first);
``POST /dashboard/inbox/{id}/attach`` (``study_id``) runs like every new form
(post/redirect/get, the reason beside the field on a refusal).
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from service.actions.inbound import attach_to_participant, reveal_sender
from service.actions.views import queue
from service.runtime import Runtime
from service.web.dashboard.alerts_board import inbox_page
from service.web.dashboard.form_flow import Refuse, run_form
from service.web.dashboard.render import N_
from service.web.dashboard.session import Viewer, require_writer

PAGE: Final = "/dashboard/inbox"
MESSAGES: Final = {
    "study_id": N_("Enter the study id of a participant of your sites."),
    "404:study_id": N_("No participant with that study id in your sites."),
    "409:phone": N_("That number is already another participant's phone."),
    "409:form": N_("This item is not a text from an unknown number any more."),
    "409:study_id": N_("That participant has withdrawn; their phone can no longer change."),
}


class InboxStrangersController(Controller):
    path = PAGE
    include_in_schema = False

    @post("/{item_id:int}/number", status_code=200)
    async def number(self, rt: Runtime, viewer: Viewer, item_id: FromPath[int]) -> Template:
        phone = await reveal_sender(rt, viewer.actor, item_id)
        items = await queue(viewer.actor)
        return inbox_page(rt, viewer, items, revealed={item_id: phone})

    @post("/{item_id:int}/attach", status_code=303)
    async def attach(
        self, rt: Runtime, viewer: Viewer, request: Request[Any, Any, Any], item_id: FromPath[int]
    ) -> Redirect:
        require_writer(viewer)

        async def act(v: dict[str, str]) -> str:
            study_id = v["study_id"].strip()
            if not study_id:
                raise Refuse("study_id", MESSAGES["study_id"])
            await attach_to_participant(rt, viewer.actor, item_id, study_id)
            return str(item_id)

        return await run_form(
            request, back=PAGE, form=f"attach:{item_id}", fields=("study_id",), action=act,
            messages=MESSAGES, done=lambda saved: f"{PAGE}?attached={saved}",
        )  # fmt: skip
