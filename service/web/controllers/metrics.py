"""``GET /metrics`` for Prometheus, behind a bearer token.

Metrics name no participant, but they describe the trial's activity, so they are not
public: the scraper sends ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus'
``authorization`` setting), or an admin's staff token works too (handy from a shell).
Without METRICS_TOKEN, only admin tokens open it.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from service.actions.access import actor_for_token
from service.actions.views import METRICS_CONTENT_TYPE, render_metrics
from service.domain.states import StaffRole
from service.web.auth import runtime_of


async def _allowed(request: Request[Any, Any, Any]) -> None:
    rt = runtime_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    expected = rt.settings.metrics_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    actor = await actor_for_token(rt, token)
    if actor is None:
        raise NotAuthorizedException(
            "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
        )
    if actor.kind != "staff" or actor.role != StaffRole.ADMIN:
        raise PermissionDeniedException("metrics need METRICS_TOKEN or an admin token")


class MetricsController(Controller):
    path = "/metrics"
    tags = ["operations"]
    security = [{"bearer": []}]

    @get(
        "/",
        summary="Prometheus metrics (METRICS_TOKEN or an admin token)",
        media_type=METRICS_CONTENT_TYPE,
    )
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        await _allowed(request)
        return Response(await render_metrics(runtime_of(request)), media_type=METRICS_CONTENT_TYPE)
