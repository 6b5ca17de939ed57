"""Staff routes for safety alerts: list, read, acknowledge. Thin: scoping, roles and
the once-only acknowledgement live in ``service.actions.alerts``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, Parameter

from service.actions import alerts as act
from service.actions.alerts import AlertRecord, alert_record, alert_summary, finding_label
from service.actions.participants import study_ids
from service.actions.views import alerts_page
from service.domain.actors import Actor
from service.domain.paging import DEFAULT_LIMIT
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.paging import LINK_HEADER, Cursor, Limit, paged
from service.web.schemas.alerts import AcknowledgeIn, AlertOut, FindingOut

StatusFilter = Annotated[
    Literal["open", "acknowledged", "all"],
    Parameter(description="open (default), acknowledged or all"),
]


def _finding_out(rt: Runtime, finding: dict[str, Any]) -> FindingOut:
    return FindingOut(
        code=str(finding.get("code", "")),
        label=finding_label(rt, finding),
        emergency=bool(finding.get("emergency", False)),
        params={k: str(v) for k, v in (finding.get("params") or {}).items()},
    )


def alert_out(rt: Runtime, alert: AlertRecord, study_id: str) -> AlertOut:
    return AlertOut(
        id=alert.id,
        study_id=study_id,
        site=alert.site,
        findings=[_finding_out(rt, f) for f in alert.findings],
        summary=alert_summary(rt, alert.findings),
        emergency=alert.emergency,
        status=alert.status,
        checkin_id=alert.checkin_id,
        raised_at=alert.raised_at,
        notified_at=alert.notified_at,
        escalated_at=alert.escalated_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        note=alert.note,
    )


async def _study_ids(alerts: list[AlertRecord]) -> dict[int, str]:
    return await study_ids(a.participant_id for a in alerts)


class AlertController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get(
        "/",
        summary="Safety alerts of the caller's sites, newest first, a page at a time",
        response_headers=[LINK_HEADER],
    )
    async def list_alerts(
        self,
        request: Request,
        rt: Runtime,
        actor: Actor,
        status: StatusFilter = "open",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[list[AlertOut]]:
        page = await alerts_page(actor, status, limit=limit, cursor=cursor)
        records = [alert_record(a) for a in page.items]
        study_ids = await _study_ids(records)
        body = [alert_out(rt, a, study_ids[a.participant_id]) for a in records]
        return paged(request, body, page.next_cursor)

    @get("/{alert_id:int}", summary="One safety alert")
    async def read(self, rt: Runtime, actor: Actor, alert_id: FromPath[int]) -> AlertOut:
        alert = alert_record(await act.visible_alert(actor, alert_id))
        return alert_out(rt, alert, (await _study_ids([alert]))[alert.participant_id])

    @post(
        "/{alert_id:int}/acknowledge",
        summary="Close an alert with a note (coordinator or admin of its site)",
        status_code=200,
    )
    async def acknowledge(
        self, rt: Runtime, actor: Actor, alert_id: FromPath[int], data: AcknowledgeIn
    ) -> AlertOut:
        alert = alert_record(await act.acknowledge_alert(rt, actor, alert_id, data.note))
        return alert_out(rt, alert, (await _study_ids([alert]))[alert.participant_id])
