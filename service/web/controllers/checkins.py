"""Staff route for a participant's check-in records: every version, SMS and app alike."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath

from service.actions.access import participant_for
from service.actions.actors import Actor
from service.db.models import Alert, CheckIn
from service.web.auth import provide_staff
from service.web.schemas_alerts import CheckinRecordOut


class CheckinRecordController(Controller):
    path = "/api/v1/participants/{study_id:str}/checkins"
    tags = ["participants"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/", summary="All check-in versions of a participant, newest first")
    async def list_checkins(self, actor: Actor, study_id: FromPath[str]) -> list[CheckinRecordOut]:
        participant = await participant_for(actor, study_id)
        rows = await CheckIn.filter(participant_id=participant.id).order_by("-submitted_at", "-id")
        raised: dict[int, list[int]] = {}
        pairs = await Alert.filter(checkin_id__in=[r.id for r in rows]).values_list(
            "checkin_id", "id"
        )
        for checkin_id, alert_id in pairs:
            raised.setdefault(int(checkin_id), []).append(int(alert_id))
        return [
            CheckinRecordOut(
                id=row.id,
                checkin_key=row.checkin_key,
                questionnaire=row.questionnaire,
                channel=row.channel,
                version=row.version,
                late=row.late,
                complete=row.complete,
                answers=row.answers,
                raw_texts=list(row.raw_texts),
                submitted_at=row.submitted_at,
                alert_ids=sorted(raised.get(row.id, [])),
            )
            for row in rows
        ]
