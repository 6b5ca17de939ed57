"""The EDC push's figures for ``GET /metrics``.

Monitoring should notice a feed that stopped (no success for hours), one that
backs up (pending changes growing) and hand edits in REDCap waiting for a person
(open conflicts) without anyone opening ``/api/v1/edc/status``.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import GaugeMetricFamily

from service.actions.edc._status import edc_push_status
from service.runtime import Runtime

__all__ = ["edc_metrics"]


async def edc_metrics(rt: Runtime, now: datetime) -> list[GaugeMetricFamily]:
    status = await edc_push_status(rt)
    families = [
        GaugeMetricFamily(
            "followup_edc_push_configured",
            "1 when REDCAP_API_URL and REDCAP_API_TOKEN are set",
            value=1.0 if status.configured else 0.0,
        ),
        GaugeMetricFamily(
            "followup_edc_pending_changes",
            "records changed since the last acknowledged REDCap push",
            value=float(status.pending_changes),
        ),
        GaugeMetricFamily(
            "followup_edc_open_conflicts",
            "values changed by hand in REDCap that the feed did not overwrite",
            value=float(len(status.conflicts)),
        ),
        GaugeMetricFamily(
            "followup_edc_last_push_failed",
            "1 when the most recent push run failed",
            value=1.0
            if status.last_run is not None
            and status.last_failure is not None
            and status.last_failure.id == status.last_run.id
            else 0.0,
        ),
    ]
    if status.last_success is not None:
        since = status.last_success.finished_at or status.last_success.started_at
        families.append(
            GaugeMetricFamily(
                "followup_edc_last_success_age_seconds",
                "seconds since the last successful REDCap push",
                value=max((now - since).total_seconds(), 0.0),
            )
        )
    return families
