""" "Lo que he enviado": the participant's own check-ins, every version, newest first.

Read from ``checkins.checkin_records`` (nobody else's rows can reach this page: the
session names the participant). Each check-in links to its correction form, which
asks for a reason and adds a version (``checkins.correct_from_app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Redirect, Template

from service.actions.checkins import CheckinRecord, checkin_records, questionnaire_for
from service.actions.participants import own_participant
from service.runtime import Runtime
from service.web.app.session import current_participant, render


@dataclass(frozen=True, slots=True)
class SentCheckin:
    key: str
    latest: CheckinRecord
    earlier: list[CheckinRecord]


def group_versions(records: list[CheckinRecord]) -> list[SentCheckin]:
    """Versions (newest first) gathered under their check-in, newest check-in first."""
    order: list[str] = []
    by_key: dict[str, list[CheckinRecord]] = {}
    for record in records:
        if record.checkin_key not in by_key:
            order.append(record.checkin_key)
        by_key.setdefault(record.checkin_key, []).append(record)
    grouped = []
    for key in order:
        versions = sorted(by_key[key], key=lambda r: r.version, reverse=True)
        grouped.append(SentCheckin(key=key, latest=versions[0], earlier=versions[1:]))
    return grouped


class AppHistoryController(Controller):
    path = "/app/history"
    include_in_schema = False

    @get("/")
    async def history(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template | Redirect:
        actor = await current_participant(request)
        if actor is None:
            return Redirect("/app", status_code=303)
        participant = await own_participant(actor)
        questionnaire = questionnaire_for(rt, participant)
        return render(
            request,
            "app/history.html",
            actor=actor,
            sent=group_versions(await checkin_records(participant.id)),
            labels={item.code: item.label for item in questionnaire.symptoms},
            severities=dict(questionnaire.severities),
            zone=participant.timezone,
        )
