"""Thin, idempotent job wrappers: each calls one action and logs the counts it returns."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from service.actions.access import purge_ended_sessions, purge_old_attempts, purge_stale_codes
from service.actions.alerts import escalation_job
from service.runtime import Runtime

log = logging.getLogger("service.jobs")

Job = Callable[[Runtime], Awaitable[None]]


async def purge_codes(rt: Runtime) -> None:
    """One-time-code rows matter for an hour (rate limits); then they go."""
    purged = await purge_stale_codes(rt)
    if purged:
        log.info("purged %d stale one-time codes", purged)


async def edc_push(rt: Runtime) -> None:
    """Push to REDCap when configured and EDC_PUSH_INTERVAL_MINUTES passed since the last run."""
    from service.actions.edc import push_if_due

    result = await push_if_due(rt)
    if result is not None and (result.rows or result.conflicts or result.status != "ok"):
        log.info("edc push: %s", result.summary().splitlines()[0])


# A run stops starting batches after this long; the rest of a backlog is the next run's.
EDC_SEQUENCE_BUDGET_S = 10.0


async def edc_sequence(rt: Runtime) -> None:
    """Sequence the EDC feed as records commit, in short batches, so a pull or push
    finds at most what committed since the last run (decision 0094)."""
    from service.actions.edc import sequence_backlog

    run = await sequence_backlog(rt.clock.now(), budget_s=EDC_SEQUENCE_BUDGET_S)
    if run.added:
        log.info(
            "edc sequence: %d changes in %d batches, %.2f s (%.0f/s), longest batch %.0f ms",
            run.added,
            run.batches,
            run.seconds,
            run.rate,
            run.longest_batch_s * 1000,
        )


async def purge_login_attempts(rt: Runtime) -> None:
    """Sign-in attempts matter for the throttle's window; a day later they go."""
    purged = await purge_old_attempts(rt)
    if purged:
        log.info("purged %d old sign-in attempts", purged)


async def purge_dashboard_sessions(rt: Runtime) -> None:
    """Ended dashboard sessions matter for a day (who was signed in); then they go."""
    purged = await purge_ended_sessions(rt)
    if purged:
        log.info("purged %d ended dashboard sessions", purged)


async def dashboard_written(rt: Runtime) -> None:
    """The dashboard's notes of whose figures changed, one a write: taken with the
    summary rows they make stale, so they stay few while nobody opens the dashboard."""
    from service.actions.views import forget_written

    taken = await forget_written()
    if taken:
        log.info("dashboard: %d written participants' summaries dropped", taken)


async def protocol_replan(rt: Runtime) -> None:
    """A new protocol revision re-plans everyone in short batches (it logs its own
    progress); a run that died is taken over here once its lease lapses."""
    from service.actions.outbox import replan_if_protocol_changed

    await replan_if_protocol_changed(rt)


async def inbox_sweep(rt: Runtime) -> None:
    """Messages stored but not understood (their process died, the database was down)
    are read here; the sweep logs its own counts."""
    from service.actions.inbound import understand_waiting

    await understand_waiting(rt)


def periodic_jobs() -> dict[str, Job]:
    """APScheduler's jobs; sending itself is the dispatcher loop's (jobs.dispatcher)."""
    return {
        "protocol.replan": protocol_replan,
        "inbox.sweep": inbox_sweep,
        "codes.purge": purge_codes,
        "logins.purge": purge_login_attempts,
        "dashboard_sessions.purge": purge_dashboard_sessions,
        "dashboard.written": dashboard_written,
        "edc.sequence": edc_sequence,
        "edc.push": edc_push,
        "alerts.escalate": escalation_job,
    }
