"""What ``GET /metrics`` reports, in Prometheus' text format.

Every figure is read from the database at scrape time, not counted in memory: any
number of ``serve`` and ``worker`` processes send and receive, and the database is
where all of them leave their work, so one scrape of any ``serve`` tells the whole
truth (and a restart loses nothing). Each scrape runs a handful of indexed
aggregate queries; on SQLite the counts by status and each sent message's lateness
are kept by triggers (decision 0116).

Other parts of the service add their own figures through
``register_metrics_source(name, source)``: ``source(rt, now)`` is an async function
returning prometheus-client metric families (``GaugeMetricFamily`` …). The EDC push
registers its status there; registering the same name again replaces the source.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from service.actions.outbox import replan_remaining
from service.actions.views import _sql
from service.db.faults import OUTAGES, DatabaseFault
from service.domain.states import AlertStatus, MessageStatus
from service.runtime import Runtime

__all__ = ["METRICS_CONTENT_TYPE", "MetricsSource", "register_metrics_source", "render_metrics"]

log = logging.getLogger("service.metrics")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENESS_BUCKETS = (1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
_LATENESS_WINDOW = timedelta(hours=1)
_ERROR_WINDOW = timedelta(hours=24)

Metric = GaugeMetricFamily | HistogramMetricFamily
MetricsSource = Callable[[Runtime, datetime], Awaitable[Iterable[Metric]]]
_SOURCES: dict[str, MetricsSource] = {}


def register_metrics_source(name: str, source: MetricsSource) -> None:
    """Add (or replace) a named source of extra metric families."""
    _SOURCES[name] = source


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


async def _messages(now: datetime) -> list[Metric]:
    by_status = GaugeMetricFamily(
        "followup_messages", "Outbound messages by status", labels=["status"]
    )
    for status, n in await _by_status():
        by_status.add_metric([status], float(n))
    # One statement, one range of the (status, send_at) index: its count and its first.
    [due] = await _sql.fetch(
        "SELECT COUNT(*) AS n, MIN(send_at) AS first FROM outbound_message"
        " WHERE status = ? AND send_at <= ?",
        [MessageStatus.PLANNED.value, now],
    )
    due_count = int(due["n"])
    age = _age(now, due["first"])

    errors = GaugeMetricFamily(
        "followup_provider_errors_24h",
        "Outbound messages that ended with a provider error code in the last 24 hours",
        labels=["code"],
    )
    for row in await _provider_errors(now):
        errors.add_metric([str(row["error_code"])], float(row["n"]))
    return [
        by_status,
        _gauge(
            "followup_messages_due_unsent", "Planned messages whose send time has passed", due_count
        ),
        _gauge(
            "followup_messages_due_unsent_oldest_age_seconds",
            "How long the oldest due, unsent message has waited (0 when none)",
            age,
        ),
        await _lateness(now),
        errors,
    ]


async def _by_status() -> list[tuple[str, int]]:
    """Outbound messages by status, every status (zeros included: a steady set of
    series). SQLite reads the counts its triggers keep (migration 0042, decision
    0116): counting one index range a status stepped through every message, 10x a
    row count. PostgreSQL's GROUP BY is a parallel scan, within the goal, and a kept
    count would be a hot row that concurrent senders queue on."""
    statuses = [status.value for status in MessageStatus]
    if _sql.dialect().postgres:
        query = "SELECT status, COUNT(*) AS n FROM outbound_message GROUP BY status"
    else:
        query = "SELECT status, n FROM outbound_status_count"
    found = {str(row["status"]): int(row["n"]) for row in await _sql.fetch(query, [])}
    return sorted({**dict.fromkeys(statuses, 0), **found}.items())


async def _provider_errors(now: datetime) -> list[dict[str, Any]]:
    """Messages with a provider error code updated in the last day, per code, in code
    order. Written out: the ORM's ``NOT error_code IS NULL`` does not match the partial
    index's ``error_code IS NOT NULL`` for SQLite's planner (159 ms instead of 21).
    SQLite's index leads with the code (migration 0042): it finds each code with one
    seek and counts that code's range of the day, where grouping the day's errors by
    code sorted them all (3 ms for 14,000 instead of 0.5)."""
    since = now - _ERROR_WINDOW
    if _sql.dialect().postgres:
        rows = await _sql.fetch(
            "SELECT error_code, COUNT(id) AS n FROM outbound_message"
            " WHERE error_code IS NOT NULL AND updated_at >= ? GROUP BY error_code",
            [since],
        )
    else:
        rows = await _sql.fetch(_SQLITE_ERRORS, [since])
    return sorted((row for row in rows if int(row["n"])), key=lambda r: int(r["error_code"]))


_SQLITE_ERRORS = (  # each code ever seen, by a seek for the next; then its day's count
    "WITH RECURSIVE codes(code) AS ("
    " SELECT MIN(error_code) FROM outbound_message WHERE error_code IS NOT NULL"
    " UNION ALL SELECT (SELECT MIN(error_code) FROM outbound_message"
    " WHERE error_code IS NOT NULL AND error_code > codes.code)"
    " FROM codes WHERE codes.code IS NOT NULL)"
    " SELECT code AS error_code, (SELECT COUNT(*) FROM outbound_message"
    " WHERE error_code IS NOT NULL AND error_code = codes.code AND updated_at >= ?) AS n"
    " FROM codes WHERE code IS NOT NULL"
)


async def _lateness(now: datetime) -> HistogramMetricFamily:
    """Counted by the database: reading every message sent in the hour and parsing its
    two timestamps cost more than the rest of a scrape (150 ms for 8,500 messages).
    SQLite reads each message's lateness in milliseconds, kept by a trigger in the sent
    index (migration 0042, decision 0116): parsing two timestamps a row with
    ``julianday`` was the largest part of a scrape (1.2 ms for 1,714 messages, 0.5 so;
    5.1 ms while the inner query was flattened and each bucket parsed them again)."""
    if _sql.dialect().postgres:
        late, scale = "GREATEST(0, EXTRACT(EPOCH FROM (sent_at - send_at)))", 1
    else:
        late, scale = "late_ms", 1000
    counts = ", ".join(
        f"SUM(CASE WHEN late <= {bound * scale:g} THEN 1 ELSE 0 END) AS le{n}"
        for n, bound in enumerate(LATENESS_BUCKETS)
    )
    [row] = await _sql.fetch(
        f"SELECT COUNT(*) AS n, SUM(late) AS total, {counts} FROM"  # noqa: S608  # constants
        f" (SELECT {late} AS late FROM outbound_message WHERE sent_at >= ? AND sent_at <= ?) s",
        [now - _LATENESS_WINDOW, now],
    )
    buckets = [(str(bound), float(row[f"le{n}"] or 0)) for n, bound in enumerate(LATENESS_BUCKETS)]
    buckets.append(("+Inf", float(row["n"])))
    return HistogramMetricFamily(
        "followup_send_lateness_seconds",
        "Seconds between planned and actual send, messages sent in the last hour",
        buckets=buckets,
        sum_value=float(row["total"] or 0) / scale,
    )


def _age(now: datetime, first: object) -> float:
    """Seconds since ``first`` (an instant, or None when there is none): 0 at least."""
    return 0.0 if first is None else max(0.0, (now - _sql.as_instant(first)).total_seconds())


async def _inbound_and_alerts(now: datetime) -> list[Metric]:
    """Four figures of two small tables in one statement: one round trip, not four."""
    [row] = await _sql.fetch(
        "SELECT (SELECT COUNT(*) FROM inbound_message WHERE received_at > ?) AS last_5m,"
        " (SELECT COUNT(*) FROM inbound_message) AS total,"
        " (SELECT COUNT(*) FROM alert WHERE status = ?) AS open_count,"
        " (SELECT MIN(raised_at) FROM alert WHERE status = ?) AS first",
        [now - timedelta(minutes=5), AlertStatus.OPEN.value, AlertStatus.OPEN.value],
    )
    return [
        _gauge(
            "followup_inbound_messages_per_minute",
            "Inbound SMS per minute, averaged over the last 5 minutes",
            int(row["last_5m"]) / 5,
        ),
        _gauge("followup_inbound_messages_stored", "Inbound SMS stored, all time", row["total"]),
        _gauge("followup_alerts_open", "Safety alerts not yet acknowledged", row["open_count"]),
        _gauge(
            "followup_alerts_open_oldest_age_seconds",
            "Age of the oldest unacknowledged safety alert (0 when none)",
            _age(now, row["first"]),
        ),
    ]


def _database_faults() -> list[Metric]:
    """This process's view of a database outage (disk full, read-only, away):
    in memory, because a database that cannot be written cannot count it."""
    outage = OUTAGES.current()
    now_faulty = GaugeMetricFamily(
        "followup_database_fault",
        "1 while requests of this process meet this database fault",
        labels=["fault"],
    )
    refused = GaugeMetricFamily(
        "followup_database_refused_requests",
        "Requests this process answered 503/507 for a database fault, since it started",
        labels=["fault"],
    )
    for fault in DatabaseFault:
        now_faulty.add_metric([fault.value], 1.0 if outage and outage.fault is fault else 0.0)
        refused.add_metric([fault.value], float(OUTAGES.refused_total.get(fault, 0)))
    return [now_faulty, refused]


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def render_metrics(rt: Runtime) -> bytes:
    now = rt.clock.now()
    families = _database_faults() + await _messages(now) + await _inbound_and_alerts(now)
    families.append(
        _gauge(
            "followup_replan_remaining_participants",
            "Active participants a new protocol revision has still to re-plan (0 when done)",
            await replan_remaining(rt),
        )
    )
    failed = GaugeMetricFamily(
        "followup_metrics_source_failed",
        "1 when a registered metrics source raised during this scrape",
        labels=["source"],
    )
    for name, source in sorted(_SOURCES.items()):
        try:
            families.extend(await source(rt, now))
            failed.add_metric([name], 0.0)
        except Exception:  # one broken source must not blind the whole scrape
            log.exception("metrics source %s failed", name)
            failed.add_metric([name], 1.0)
    families.append(failed)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)
