"""What the EDC push is doing, for staff (``GET /api/v1/edc/status``) and for /metrics.

:func:`edc_push_status` is the one function other parts call (``/metrics`` and
the dashboard): last run, what is pending, the last failure and why, open conflicts.
Conflicts are site-scoped like everything staff see.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.actions.edc import _push_state as state
from service.domain.actors import Actor
from service.domain.states import PUSH_FAILED, PushStatus
from service.runtime import Runtime

__all__ = ["EdcPushStatus", "edc_push_status"]


@dataclass(frozen=True, slots=True)
class EdcPushStatus:
    configured: bool
    interval_minutes: int
    last_run: state.RunView | None
    last_success: state.RunView | None
    last_failure: state.RunView | None
    pending_changes: int
    conflicts: list[state.ConflictView]
    recent_runs: list[state.RunView]  # newest first, at most 20


async def edc_push_status(rt: Runtime, actor: Actor | None = None) -> EdcPushStatus:
    """``actor`` limits the conflicts to their sites; None (system, metrics) sees all."""
    runs = [r for r in await state.last_runs(50) if r.status != PushStatus.RUNNING or r.finished_at]
    sites = None if actor is None else actor.site_scope
    return EdcPushStatus(
        configured=rt.redcap is not None,
        interval_minutes=rt.settings.edc_push_interval_minutes,
        last_run=runs[0] if runs else None,
        last_success=next((r for r in runs if r.status == PushStatus.OK), None),
        last_failure=next((r for r in runs if r.status in PUSH_FAILED), None),
        pending_changes=await state.pending_changes(await state.push_cursor()),
        conflicts=await state.open_conflicts(sites),
        recent_runs=runs[:20],
    )
