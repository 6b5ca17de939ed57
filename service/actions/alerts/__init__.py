"""Safety alerts and the coordinators' queue: raising, escalating, reading, closing.

An alert is stored once per event with its on-call SMS row in the caller's
transaction (``alert_once``: raised, refined, or recognised as a repeat of one the
team has, whichever channel said it; ``record_alert`` stores a new one) and sent
after the commit (``notify_alert``); the
escalation job texts the backup when nobody acknowledged in time; staff read and
acknowledge alerts of their sites; what the service cannot place goes to the
coordinators' queue (``open_inbox_item``). Private modules: ``_once``, ``_raise``,
``_escalation``, ``_review``, ``_text`` (the Spanish labels), ``_inbox``.
"""

from service.actions.alerts._escalation import (
    backfill_notified,
    escalate_overdue_alerts,
    escalation_job,
)
from service.actions.alerts._inbox import (
    InboxEntry,
    close_item,
    inbox_entry,
    inbox_items,
    open_inbox_item,
)
from service.actions.alerts._once import AlertOutcome, alert_once
from service.actions.alerts._raise import PendingNotice, notify_alert, record_alert
from service.actions.alerts._review import (
    ALERT_STATUSES,
    NOTE_MAX_CHARS,
    AlertRecord,
    acknowledge_alert,
    alert_record,
    visible_alert,
    visible_alerts,
)
from service.actions.alerts._text import ALERT_LANGUAGE, alert_summary, finding_label

__all__ = [
    "ALERT_LANGUAGE",
    "ALERT_STATUSES",
    "NOTE_MAX_CHARS",
    "AlertOutcome",
    "AlertRecord",
    "InboxEntry",
    "PendingNotice",
    "acknowledge_alert",
    "alert_once",
    "alert_record",
    "alert_summary",
    "backfill_notified",
    "close_item",
    "escalate_overdue_alerts",
    "escalation_job",
    "finding_label",
    "inbox_entry",
    "inbox_items",
    "notify_alert",
    "open_inbox_item",
    "record_alert",
    "visible_alert",
    "visible_alerts",
]
