"""``/demo/phone``: the demo participants' phones, for a newcomer trying the service.

Mounted only by ``followup serve --demo`` with the console gateway (every number made
up, nothing leaves the machine); otherwise the route does not exist (404). Each
participant's thread shows what their phone would: reminders, questions, safety
advice and sign-in codes (from the console gateway's memory: codes are never stored).
A reply goes through ``inbound.handle_inbound``, exactly as Twilio's webhook hands it
over, so the conversation, keywords, check-ins and alerts are the real ones.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from service.actions.inbound import handle_inbound
from service.actions.views import demo_phone_of, demo_threads
from service.ports import InboundSms
from service.runtime import Runtime
from service.web.app.session import SECURITY_HEADERS, render

BODY_MAX: Final = 1600  # Twilio's longest inbound message


async def demo_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A 404, as if the route did not exist, unless the app runs the console demo
    (``app.state.demo_phone``, set by ``create_app``)."""
    if not getattr(connection.app.state, "demo_phone", False):
        raise NotFoundException()


class DemoPhoneController(Controller):
    path = "/demo/phone"
    include_in_schema = False
    guards = (demo_only,)

    @get("/")
    async def phones(self, rt: Runtime, request: Request[Any, Any, Any]) -> Template:
        remembered = {m.provider_id: m.body for m in getattr(rt.gateway, "sent", [])}
        return render(
            request, "app/demo_phone.html", actor=None, threads=await demo_threads(remembered)
        )

    @post("/{study_id:str}/reply", status_code=303)
    async def reply(
        self, rt: Runtime, request: Request[Any, Any, Any], study_id: FromPath[str]
    ) -> Redirect:
        phone = await demo_phone_of(study_id)
        if phone is None:
            raise NotFoundException("no such demo participant")
        value = (await request.form()).get("body", "")
        body = value[:BODY_MAX] if isinstance(value, str) else ""
        if body.strip():
            await handle_inbound(
                rt,
                InboundSms(
                    provider_id="SMDEMO" + uuid.uuid4().hex,
                    from_phone=phone,
                    to_phone=None,
                    body=body,
                ),
            )
        return Redirect(f"/demo/phone#{study_id}", status_code=303, headers=SECURITY_HEADERS)
