"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from tortoise import connections

from service.db.lifecycle import pending_migrations


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database reachable, migrations current, scheduler running")
    async def ready(self, request: Request) -> Response[dict[str, object]]:
        checks: dict[str, object] = {}
        try:
            await connections.get("default").execute_query("SELECT 1")
            checks["database"] = "ok"
            pending = await pending_migrations()
            checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
        except Exception as exc:  # readiness must report, never raise
            checks["database"] = f"unreachable: {type(exc).__name__}"
        scheduler = getattr(request.app.state, "scheduler", None)
        checks["scheduler"] = "ok" if scheduler is None or scheduler.running else "stopped"
        ok = all(v == "ok" for v in checks.values())
        return Response(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )
