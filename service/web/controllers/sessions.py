"""Staff route that ends a participant's app sessions (a lost or shared phone)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import Provide
from litestar.params import FromPath

from service.actions.access import participant_for, revoke_by_staff
from service.actions.errors import Forbidden
from service.domain.actors import Actor
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.schemas.participants import SessionsRevokedOut


class ParticipantSessionController(Controller):
    path = "/api/v1/participants"
    tags = ["participants"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @post(
        "/{study_id:str}/sessions/revoke",
        summary="End the participant's app sessions; the app asks for a new SMS code",
        status_code=200,
    )
    async def revoke(
        self, rt: Runtime, actor: Actor, study_id: FromPath[str]
    ) -> SessionsRevokedOut:
        if not actor.can_write:
            raise Forbidden("this role may read but not change participants")
        participant = await participant_for(actor, study_id)
        return SessionsRevokedOut(revoked=await revoke_by_staff(rt, participant, actor))
