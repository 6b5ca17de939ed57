"""``followup worker``: the scheduler and dispatcher without the API.

Runs the same start-up as the API's lifespan (``service.composition.running``:
migrations checked, sites, protocol re-planning, crash reconciliation), then lets
the scheduler wake the dispatcher until SIGINT or SIGTERM. Any number of workers and
API processes may run side by side: rows are claimed in the database, so no message
goes out twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from service.composition import build_runtime, running
from service.jobs.scheduler import DispatchScheduler
from service.runtime import Runtime
from service.settings import Settings

log = logging.getLogger("service.worker")


async def run_worker(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    stop: asyncio.Event | None = None,
    demo: bool = False,
) -> None:
    """Serve until a signal (or ``stop``, for tests and embedding) asks to end."""
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
    try:
        async with running(rt, scheduler=DispatchScheduler(rt), demo=demo):
            log.info("worker running; stop with SIGINT or SIGTERM")
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        log.info("worker stopped")
