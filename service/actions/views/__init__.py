"""Read models: what the API's lists, the dashboard's pages and the CLI's preview show,
as plain values built with a fixed number of statements whatever the study's size.

Nothing here writes. Private modules: ``_api_pages`` (the API's keyset-paged lists),
``_rows`` with ``_list`` (the dashboard's participant list: rows, filters, sorts,
pages, CSV lines), ``_figures`` (the study overview), ``_participant_page``,
``_messages`` (a participant's messages, planned ones rendered), ``_preview`` (the
CLI's), ``_alert_board`` (the alerts board and the queue), ``_queries`` (the
set-based reads the dashboard's figures come from), ``_metrics`` (``GET /metrics``).
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
from service.actions.views._figures import Overview, SiteFigures, overview
from service.actions.views._list import (
    LIST_HEADER,
    SORTS,
    RowPage,
    filter_rows,
    grid_csv_header,
    grid_csv_rows,
    list_csv_rows,
    page_of,
    parse_flags,
)
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

__all__ = [
    "LIST_HEADER",
    "METRICS_CONTENT_TYPE",
    "SORTS",
    "AlertBoard",
    "AlertEntry",
    "AlertText",
    "BoardAlert",
    "Flag",
    "MessageView",
    "MetricsSource",
    "Overview",
    "Page",
    "ParticipantPage",
    "ParticipantRow",
    "ParticipantSummary",
    "QueueItem",
    "RowPage",
    "SiteFigures",
    "TimelineEntry",
    "alert_board",
    "alerts_page",
    "filter_rows",
    "grid_csv_header",
    "grid_csv_rows",
    "inbox_page",
    "list_csv_rows",
    "overview",
    "page_of",
    "parse_flags",
    "participant_messages",
    "participant_page",
    "participant_rows",
    "participants_page",
    "preview_lines",
    "queue",
    "register_metrics_source",
    "render_metrics",
]
