"""ODM 1.3.2 pull routes for any EDC (EDC key; a site-limited key sees its sites)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream

from service.actions.edc import odm_metadata, start_odm_export
from service.domain.actors import Actor
from service.web.auth import runtime_of
from service.web.edc_auth import provide_edc_key

_XML = "application/xml; charset=utf-8"


class OdmController(Controller):
    path = "/edc/v1/odm"
    tags = ["edc"]
    dependencies = {"actor": Provide(provide_edc_key)}
    security = [{"bearer": []}]

    @get("/metadata.xml", summary="ODM 1.3.2 Study/MetaDataVersion of every form and item")
    async def metadata(self, request: Request, actor: Actor) -> Response[str]:
        return Response(await odm_metadata(runtime_of(request), actor), media_type=_XML)

    @get(
        "/clinical-data.xml",
        summary="ODM 1.3.2 Transactional ClinicalData after a cursor (streamed)",
        description=(
            "Everything the feed recorded after `since` (all of it without). The "
            "document's ODM/@FileOID (also in the ODM-File-OID header) is the next cursor."
        ),
    )
    async def clinical_data(
        self,
        request: Request,
        actor: Actor,
        since: Annotated[str | None, Parameter(description="a previous FileOID")] = None,
    ) -> Stream:
        export = await start_odm_export(runtime_of(request), actor, since)
        return Stream(
            export.chunks,
            media_type=_XML,
            headers={"ODM-File-OID": export.file_oid, "ODM-Entries": str(export.entries)},
        )
