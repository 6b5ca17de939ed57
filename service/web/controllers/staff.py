"""Staff login and sites."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import Provide
from litestar.params import FromPath

from service.actions.access import login
from service.actions.participants import set_on_call, visible_sites
from service.domain.actors import Actor
from service.runtime import Runtime
from service.web.auth import provide_staff
from service.web.schemas.staff import OnCallIn, SiteOut, TokenRequest, TokenResponse


def _site_out(site: object) -> SiteOut:
    """A site row or record as the API shows it (same field names)."""
    return msgspec.convert(site, SiteOut, from_attributes=True)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", summary="Exchange email and password for a bearer token", status_code=200)
    async def token(
        self, rt: Runtime, request: Request[Any, Any, Any], data: TokenRequest
    ) -> TokenResponse:
        address = request.client.host if request.client else None
        token = await login(rt, data.email, data.password, address)
        return TokenResponse(access_token=token, expires_in=rt.settings.token_ttl_hours * 3600)


class SiteController(Controller):
    path = "/api/v1/sites"
    tags = ["sites"]
    dependencies = {"actor": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/", summary="Sites from the protocol file, with their on-call numbers")
    async def list_sites(self, actor: Actor) -> list[SiteOut]:
        return [_site_out(s) for s in await visible_sites(actor)]

    @put("/{code:str}/on-call", summary="Set the numbers that receive safety alerts (admin)")
    async def on_call(
        self, rt: Runtime, actor: Actor, code: FromPath[str], data: OnCallIn
    ) -> SiteOut:
        return _site_out(await set_on_call(rt, actor, code, data.primary, data.backup))
