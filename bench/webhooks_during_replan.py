"""The inbound webhook's answer times while a protocol revision re-plans everyone, next
to the same load with no re-plan (the baseline, measured in the same run).

Used by ``bench.bench_scale``: the app that re-plans also serves the webhooks (uvicorn
in this process, as ``followup serve`` runs its start-up re-plan), and a steady load
of signed posts from the study's own participants arrives meanwhile. The goal: the
webhook's p99 during the re-plan within 2x its p99 without.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import uvicorn

from bench.bench_inbound import _forms, _post_paced

__all__ = ["DuringReplan", "webhooks_during_replan"]


@dataclass(frozen=True, slots=True)
class DuringReplan:
    idle_p50_ms: float
    idle_p99_ms: float
    busy_p50_ms: float
    busy_p99_ms: float
    replan_running_throughout: bool
    replan: Any  # the ReplanRun of the revision re-planned meanwhile


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """uvicorn on a free port, without the app's start-up (the database is open)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


async def webhooks_during_replan(
    app: Any, phones: list[str], *, rate: float, count: int, revision: str
) -> DuringReplan:
    from service.actions.outbox import replan_run
    from service.domain.adherence import nearest_rank

    def percentile(values: list[float], fraction: float) -> float:
        return nearest_rank(values, fraction) or 0.0

    rt = app.state.runtime
    server, task, base = await _serve(app)
    url = f"{base}/webhooks/twilio/sms"
    try:
        idle = await _post_paced(url, _forms(phones, "idle", count), rate)
        newer = replace(rt, protocol=replace(rt.protocol, revision=revision))
        replanning = asyncio.create_task(replan_run(newer))
        busy = await _post_paced(url, _forms(phones, "busy", count), rate)
        throughout = not replanning.done()
        run = await replanning
    finally:
        server.should_exit = True
        await task
    return DuringReplan(
        percentile(idle, 0.5),
        percentile(idle, 0.99),
        percentile(busy, 0.5),
        percentile(busy, 0.99),
        throughout,
        run,
    )
