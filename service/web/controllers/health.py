"""Liveness and readiness probes that say which part is unwell.

``/health/ready`` answers 503 when this process cannot do its job (database
unreachable, migrations pending, scheduler stopped) and names the part. The
dispatch backlog is reported beside them but does not fail readiness: taking an API
process out of the load balancer would not send one message sooner, and a backlog
is what the metrics and their alerts are for.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get

from service.actions.outbox import oldest_due_unsent
from service.db.lifecycle import database_answers, pending_migrations
from service.web.auth import runtime_of

BACKLOG_WARNING = timedelta(minutes=10)
_FATAL = ("database", "migrations", "scheduler")


async def _dispatch_backlog(request: Request[Any, Any, Any]) -> str:
    now = runtime_of(request).clock.now()
    oldest = await oldest_due_unsent(now - BACKLOG_WARNING)
    if oldest is None:
        return "ok"
    minutes = int((now - oldest).total_seconds() // 60)
    return f"behind: a due message has waited {minutes} min"


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database reachable, migrations current, scheduler running")
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, object]]:
        checks: dict[str, str] = {}
        try:
            await database_answers()
            checks["database"] = "ok"
        except Exception as exc:  # readiness must report, never raise
            checks["database"] = f"unreachable: {type(exc).__name__}"
            checks["migrations"] = "unknown: database unreachable"
        if checks["database"] == "ok":
            try:
                pending = await pending_migrations()
                checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
            except Exception as exc:
                checks["migrations"] = f"unknown: {type(exc).__name__}"
            try:
                checks["dispatch"] = await _dispatch_backlog(request)
            except Exception as exc:
                checks["dispatch"] = f"unknown: {type(exc).__name__}"
        scheduler = getattr(request.app.state, "scheduler", None)
        if scheduler is None:
            checks["scheduler"] = "ok"  # not run in this process (a worker runs it)
        else:
            checks["scheduler"] = "ok" if scheduler.running else "stopped"
        unwell = sorted(name for name in _FATAL if checks.get(name) != "ok")
        return Response(
            {"status": "unavailable" if unwell else "ok", "unwell": unwell, "checks": checks},
            status_code=503 if unwell else 200,
        )
