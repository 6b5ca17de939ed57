"""``followup worker``: the scheduler and dispatcher without the API.

Runs the same start-up as the API's lifespan (sites, protocol re-planning, crash
reconciliation), then lets the scheduler wake the dispatcher until SIGINT or
SIGTERM. Any number of workers and API processes may run side by side: rows are
claimed in the database, so no message goes out twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from service.actions.dispatch import reconcile_stale_claims
from service.actions.replanning import replan_if_protocol_changed
from service.actions.sites import sync_sites
from service.db.lifecycle import close_database, open_database
from service.jobs.scheduler import DispatchScheduler
from service.runtime import Runtime
from service.settings import Settings

log = logging.getLogger("service.worker")


async def run_worker(
    settings: Settings, *, runtime: Runtime | None = None, stop: asyncio.Event | None = None
) -> None:
    """Serve until a signal (or ``stop``, for tests and embedding) asks to end."""
    from service.app import build_runtime  # the app module imports Litestar; load it late

    rt = runtime or build_runtime(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    await open_database(settings.database_url)
    scheduler = DispatchScheduler(rt)
    try:
        await sync_sites(rt)
        await replan_if_protocol_changed(rt)
        await reconcile_stale_claims(rt)
        await scheduler.start()
        log.info("worker running; stop with SIGINT or SIGTERM")
        await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await scheduler.stop()
        await rt.gateway.aclose()
        await close_database()
        log.info("worker stopped")
