"""Staff route for a participant's messages (planned, sent, failed and received)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from service.actions.access import participant_for
from service.actions.views import participant_messages
from service.domain.actors import Actor
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.schemas.messages import MessageView


class ParticipantMessagesController(Controller):
    path = "/api/v1/participants"
    tags = ["participants"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get(
        "/{study_id:str}/messages",
        summary="A participant's SMS: planned, sent, failed and received",
        description="Planned messages are rendered as they would be sent now. Sent ones "
        "carry both planned_send_at and sent_at, so lateness is on record.",
    )
    async def messages(
        self,
        rt: Runtime,
        actor: Actor,
        study_id: FromPath[str],
        include_cancelled: Annotated[bool, Parameter()] = False,
    ) -> list[MessageView]:
        participant = await participant_for(actor, study_id)
        return await participant_messages(rt, participant, include_cancelled=include_cancelled)
