"""Thin, idempotent job wrappers: each calls one action and logs the counts it returns."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from service.actions.alerts import alert_jobs
from service.actions.dispatch import dispatch_due
from service.runtime import Runtime

log = logging.getLogger("service.jobs")

Job = Callable[[Runtime], Awaitable[None]]

DISPATCH = "dispatch"


async def dispatch(rt: Runtime) -> None:
    """Send what is due; the counts are logged by the action (only when non-zero)."""
    await dispatch_due(rt)


def periodic_jobs() -> dict[str, Job]:
    return {DISPATCH: dispatch} | alert_jobs()
