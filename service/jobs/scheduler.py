"""APScheduler wiring: the scheduler only wakes the dispatcher.

What is due lives in the database (planned message rows), never in APScheduler's
job store: one interval job per process, which claims due rows, is safe to run in
any number of processes and loses nothing on restart.

The interval is the safety net; after each dispatch run the job is also woken early
at the next row's ``send_at`` when that comes sooner, so a reminder planned for
10:00:00 leaves at 10:00:00, not up to an interval later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.actions.dispatch import next_due_at
from service.jobs import tasks
from service.runtime import Runtime

log = logging.getLogger("service.jobs")

# An early wake-up never comes sooner than this after a run ends: the run that
# scheduled it must have finished (max_instances=1 would otherwise skip the wake-up).
MIN_WAKE_DELAY = timedelta(seconds=1)


class DispatchScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # Two INFO lines per job run ("Running job", "executed successfully") every few
        # seconds bury what matters; the jobs log their own counts, errors still show.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        interval = self.runtime.settings.dispatch_interval_s
        for name, job in tasks.periodic_jobs().items():
            self._scheduler.add_job(
                self._run,
                "interval",
                seconds=interval,
                args=[name, job],
                id=name,
                max_instances=1,  # never overlap with itself
                coalesce=True,  # a backlog of missed runs is one run
                misfire_grace_time=interval,
                next_run_time=datetime.now(UTC),
            )
        self._scheduler.start()
        log.info("scheduler started: %d jobs every %ss", len(self._scheduler.get_jobs()), interval)

    async def _run(self, name: str, job: tasks.Job) -> None:
        try:
            await job(self.runtime)
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("job %s failed", name)
        if name == tasks.DISPATCH:
            await self._wake_at_next_due(name)

    async def _wake_at_next_due(self, name: str) -> None:
        """Move the next run earlier when a planned row falls due before it."""
        try:
            due = await next_due_at(self.runtime)
        except Exception:
            log.exception("could not read the next due time")
            return
        if due is None:
            return
        # The runtime clock may be a manual one (demo): convert a delay, not an instant.
        delay = max(due - self.runtime.clock.now(), MIN_WAKE_DELAY)
        wake = datetime.now(UTC) + delay
        job = self._scheduler.get_job(name)
        if job is not None and job.next_run_time is not None and wake < job.next_run_time:
            job.modify(next_run_time=wake)

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
