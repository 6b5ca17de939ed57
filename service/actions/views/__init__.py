"""Read models: what the API's lists, the dashboard's pages and the CLI's preview show,
as plain values built with a fixed number of statements whatever the study's size.

Nothing here writes, except the dashboard's derived schedule copies (``_schedules``,
filled by the reads that need them). Private modules: ``_api_pages`` (the API's
keyset-paged lists), ``_rows`` with ``_list`` (the dashboard's participant list: rows,
filters, sorts, pages), ``_audit`` (the audit trail, filtered and scoped), ``_figures``
(the study overview), ``_participant_page``, ``_messages`` (a participant's messages,
planned ones rendered), ``_preview`` (the CLI's), ``_alert_board`` (the alerts board
and the queue), ``_counted`` (per-participant figures counted by the database, for the
overview and the list's pages), ``_schedules`` (the schedule copies they count
against), ``_queries`` (the set-based reads the dashboard's figures come from),
``_metrics`` (``GET /metrics``).
"""

from service.actions.views._alert_board import (
    AlertBoard,
    AlertText,
    BoardAlert,
    QueueItem,
    alert_board,
    queue,
)
from service.actions.views._api_pages import Page, alerts_page, inbox_page, participants_page
from service.actions.views._audit import (
    AuditFilter,
    AuditPage,
    AuditRow,
    audit_batches,
    audit_page,
)
from service.actions.views._demo_phone import (
    DemoThread,
    PhoneLine,
    demo_phone_of,
    demo_threads,
)
from service.actions.views._figures import Overview, SiteFigures, overview
from service.actions.views._list import (
    SORTS,
    RowPage,
    filter_rows,
    page_of,
    parse_flags,
)
from service.actions.views._list import participant_page as participant_list_page
from service.actions.views._messages import MessageView, participant_messages
from service.actions.views._metrics import (
    METRICS_CONTENT_TYPE,
    MetricsSource,
    register_metrics_source,
    render_metrics,
)
from service.actions.views._participant_page import (
    AlertEntry,
    ParticipantPage,
    ParticipantSummary,
    TimelineEntry,
    participant_page,
)
from service.actions.views._preview import preview_lines
from service.actions.views._rows import Flag, ParticipantRow, participant_rows
from service.actions.views._summary import forget_written

__all__ = [
    "METRICS_CONTENT_TYPE",
    "SORTS",
    "AlertBoard",
    "AlertEntry",
    "AlertText",
    "AuditFilter",
    "AuditPage",
    "AuditRow",
    "BoardAlert",
    "DemoThread",
    "Flag",
    "MessageView",
    "MetricsSource",
    "Overview",
    "Page",
    "ParticipantPage",
    "ParticipantRow",
    "ParticipantSummary",
    "PhoneLine",
    "QueueItem",
    "RowPage",
    "SiteFigures",
    "TimelineEntry",
    "alert_board",
    "alerts_page",
    "audit_batches",
    "audit_page",
    "demo_phone_of",
    "demo_threads",
    "filter_rows",
    "forget_written",
    "inbox_page",
    "overview",
    "page_of",
    "parse_flags",
    "participant_list_page",
    "participant_messages",
    "participant_page",
    "participant_rows",
    "participants_page",
    "preview_lines",
    "queue",
    "register_metrics_source",
    "render_metrics",
]
