"""Liveness and readiness probes that say which part is unwell.

``/health/ready`` answers 503 when this process cannot do its job (database
unreachable, migrations pending, scheduler stopped) and names the part. Every check
that waits on something has its own short timeout (``CHECK_TIMEOUT_S``) and says
"timed out" under its own name, so a partitioned database makes readiness answer
503 within about a second instead of hanging with it.

Reported beside them but never failing readiness: the dispatch backlog, and the
neighbours (the SMS provider, REDCap) as this process last found them. Taking an
API process out of the load balancer would not send one message sooner nor bring
Twilio back, and it would refuse the inbound webhooks that still work; the backlog
and the neighbours are what the metrics and their alerts are for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get

from service.actions.outbox import oldest_due_unsent
from service.db.faults import OUTAGES
from service.db.lifecycle import database_answers, pending_migrations
from service.runtime import REDCAP, SMS_PROVIDER
from service.web.auth import runtime_of

BACKLOG_WARNING = timedelta(minutes=10)
CHECK_TIMEOUT_S = 1.0
_FATAL = ("database", "migrations", "scheduler")


async def _timed(check: Coroutine[Any, Any, str]) -> str:
    """The check's answer, or why it has none (never raises).

    Not ``asyncio.wait_for``: that waits for the cancelled check to finish, and a
    query cancelled on a black-holed connection finishes only when the driver's own
    timeout fires. The check is left to end in the background instead.
    """
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=CHECK_TIMEOUT_S)
    if not done:
        task.cancel()
        task.add_done_callback(_forget)
        return f"timed out after {CHECK_TIMEOUT_S:g} s"
    exc = task.exception()
    if exc is not None:  # readiness must report, never raise
        return f"unreachable: {type(exc).__name__}"
    return task.result()


def _forget(task: asyncio.Future[str]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" warning


async def _database() -> str:
    await database_answers()
    return OUTAGES.storage_problem() or "ok"


async def _migrations() -> str:
    pending = await pending_migrations()
    return "ok" if not pending else f"{len(pending)} pending"


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
        checks: dict[str, str] = {"database": await _timed(_database())}
        if checks["database"] == "ok" or OUTAGES.storage_problem():  # reads still work
            checks["migrations"] = await _timed(_migrations())
            checks["dispatch"] = (await _timed(_dispatch_backlog(request))).replace(
                "unreachable", "unknown"
            )
        else:
            checks["migrations"] = "unknown: database unavailable"
        scheduler = getattr(request.app.state, "scheduler", None)
        if scheduler is None:
            checks["scheduler"] = "ok"  # not run in this process (a worker runs it)
        else:
            checks["scheduler"] = "ok" if scheduler.running else "stopped"
        rt = runtime_of(request)
        checks[SMS_PROVIDER] = rt.neighbours.state(SMS_PROVIDER)
        if rt.redcap is not None:
            checks[REDCAP] = rt.neighbours.state(REDCAP)
        unwell = sorted(name for name in _FATAL if checks.get(name) != "ok")
        degraded = sorted(name for name in checks if name not in _FATAL and checks[name] != "ok")
        status = "unavailable" if unwell else "degraded" if degraded else "ok"
        return Response(
            {"status": status, "unwell": unwell, "degraded": degraded, "checks": checks},
            status_code=503 if unwell else 200,
        )
