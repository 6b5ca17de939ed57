"""The inbox's figures for ``/metrics``: how long a message waits to be understood.

Receipt (the webhook's commit) to understanding (the transaction that queued its
replies) is what a participant feels as "the service answered", less the provider's
delivery. Read from the stored rows of the last hour, as every figure of ``/metrics``
is (any process may have understood them), plus what is still waiting now: a growing
``pending`` with an old oldest message means understanding has stopped somewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from service.db.models import InboundMessage
from service.domain.adherence import nearest_rank
from service.domain.states import InboundHandling
from service.runtime import Runtime

__all__ = ["inbox_metrics"]

_WINDOW: Final = timedelta(hours=1)
_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0)


async def inbox_metrics(
    rt: Runtime, now: datetime
) -> Iterable[GaugeMetricFamily | HistogramMetricFamily]:
    pairs = await InboundMessage.filter(
        understood_at__gte=now - _WINDOW, understood_at__lte=now
    ).values_list("received_at", "understood_at")
    waits = [max(0.0, (done - received).total_seconds()) for received, done in pairs]
    buckets = [(str(b), float(sum(1 for w in waits if w <= b))) for b in _BUCKETS]
    buckets.append(("+Inf", float(len(waits))))
    quantiles = GaugeMetricFamily(
        "followup_inbox_understood_after_seconds_quantile",
        "Receipt to replies queued, messages understood in the last hour (nearest rank)",
        labels=["quantile"],
    )
    for fraction in (0.5, 0.99):
        quantiles.add_metric([str(fraction)], nearest_rank(waits, fraction) or 0.0)
    pending = InboundMessage.filter(handling=InboundHandling.PENDING)
    first = await pending.order_by("id").first().values_list("received_at", flat=True)
    return [
        HistogramMetricFamily(
            "followup_inbox_understood_after_seconds",
            "Receipt to replies queued, messages understood in the last hour",
            buckets=buckets,
            sum_value=sum(waits),
        ),
        quantiles,
        GaugeMetricFamily(
            "followup_inbox_pending",
            "Inbound messages stored and not yet understood",
            value=await pending.count(),
        ),
        GaugeMetricFamily(
            "followup_inbox_pending_oldest_age_seconds",
            "How long the oldest message not yet understood has waited (0 when none)",
            value=max(0.0, (now - first).total_seconds()) if isinstance(first, datetime) else 0.0,
        ),
    ]
