"""Staff route for a participant's check-in records: every version, SMS and app alike."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath

from service.actions.access import participant_for
from service.actions.checkins import checkin_records
from service.domain.actors import Actor
from service.web.auth import provide_staff
from service.web.schemas.checkins import CheckinRecordOut


class CheckinRecordController(Controller):
    path = "/api/v1/participants/{study_id:str}/checkins"
    tags = ["participants"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/", summary="All check-in versions of a participant, newest first")
    async def list_checkins(self, actor: Actor, study_id: FromPath[str]) -> list[CheckinRecordOut]:
        participant = await participant_for(actor, study_id)
        return [
            msgspec.convert(record, CheckinRecordOut, from_attributes=True)
            for record in await checkin_records(participant.id)
        ]
