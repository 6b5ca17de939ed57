"""Staff view of the REDCap push: last run, pending, failures, hand-edit conflicts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from service.actions.edc import edc_push_status
from service.domain.actors import Actor
from service.web.auth import provide_staff, runtime_of


class EdcStatusController(Controller):
    path = "/api/v1/edc"
    tags = ["edc"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/status", summary="REDCap push: last run, pending, failures, conflicts")
    async def status(self, request: Request, actor: Actor) -> dict[str, Any]:
        return asdict(await edc_push_status(runtime_of(request), actor))
