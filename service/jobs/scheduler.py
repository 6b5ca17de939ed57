"""APScheduler wiring: the scheduler only wakes the dispatcher.

What is due lives in the database (planned message rows), never in APScheduler's
job store: one interval job per process, which claims due rows, is safe to run in
any number of processes and loses nothing on restart.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.jobs import tasks
from service.runtime import Runtime

log = logging.getLogger("service.jobs")


class DispatchScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        interval = self.runtime.settings.dispatch_interval_s
        for name, job in tasks.periodic_jobs().items():
            self._scheduler.add_job(
                job,
                "interval",
                seconds=interval,
                args=[self.runtime],
                id=name,
                max_instances=1,  # never overlap with itself
                coalesce=True,  # a backlog of missed runs is one run
                misfire_grace_time=interval,
                next_run_time=self.runtime.clock.now(),
            )
        self._scheduler.start()
        log.info("scheduler started: %d jobs every %ss", len(self._scheduler.get_jobs()), interval)

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
