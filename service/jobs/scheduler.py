"""Background work of one process: the dispatcher loop and APScheduler's jobs.

What is due lives in the database (planned message rows), never in APScheduler's
job store. Sending is the dispatcher loop's (:mod:`service.jobs.dispatcher`): it
wakes at the next row's ``send_at``, on the outbox's ``wake`` and on PostgreSQL
``NOTIFY``, so a reminder planned for 10:00:00 leaves at 10:00:00. The periodic jobs
(alert escalation, code purge) run every ``DISPATCH_INTERVAL_SECONDS`` in APScheduler;
every one of them is safe to run in any number of processes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.db.faults import database_fault
from service.jobs import tasks
from service.jobs.dispatcher import Dispatcher
from service.runtime import Runtime

log = logging.getLogger("service.jobs")


class DispatchScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self.dispatcher = Dispatcher(runtime)
        # Two INFO lines per job run ("Running job", "executed successfully") every few
        # seconds bury what matters; the jobs log their own counts, errors still show.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running) and self.dispatcher.running

    async def start(self) -> None:
        await self.dispatcher.start()
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
        except Exception as exc:  # a failed run is logged; the next one tries again
            if database_fault(exc) is None:
                log.exception("job %s failed", name)
            else:  # an outage: one line a run, no traceback
                log.warning("job %s skipped: database unavailable (%s)", name, type(exc).__name__)

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.dispatcher.stop()
