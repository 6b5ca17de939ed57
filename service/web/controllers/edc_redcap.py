"""REDCap project set-up files, for the administrator who builds the project.

They describe the project, not participants, so any EDC key may fetch them; the
same files come from ``followup edc redcap-setup DIR``.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.di import Provide

from service.actions.edc import redcap_setup_files
from service.domain.actors import Actor
from service.web.auth import runtime_of
from service.web.edc_auth import provide_edc_key


def _csv(request: Request, name: str) -> Response[str]:
    return Response(
        redcap_setup_files(runtime_of(request))[name],
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class RedcapSetupController(Controller):
    path = "/edc/v1/redcap"
    tags = ["edc"]
    dependencies = {"actor": Provide(provide_edc_key)}
    security = [{"bearer": []}]

    @get("/data-dictionary.csv", summary="REDCap data dictionary (18 columns)")
    async def data_dictionary(self, request: Request, actor: Actor) -> Response[str]:
        return _csv(request, "data-dictionary.csv")

    @get("/events.csv", summary="REDCap events (content=event layout)")
    async def events(self, request: Request, actor: Actor) -> Response[str]:
        return _csv(request, "events.csv")

    @get(
        "/instrument-event-mappings.csv",
        summary="REDCap instrument-event mappings (content=formEventMapping layout)",
    )
    async def mappings(self, request: Request, actor: Actor) -> Response[str]:
        return _csv(request, "instrument-event-mappings.csv")

    @get(
        "/repeating-instruments.csv",
        summary="REDCap repeating instruments (content=repeatingFormsEvents layout)",
    )
    async def repeating(self, request: Request, actor: Actor) -> Response[str]:
        return _csv(request, "repeating-instruments.csv")
