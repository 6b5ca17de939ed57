"""The outbox: every SMS and WhatsApp message the service sends, from its plan to the
provider's receipt.

The database decides what is due: rows move planned → sending (claimed) → sent →
delivered/failed, claimed with guarded UPDATEs and short leases, so any number of
dispatchers in any number of processes send each message exactly once. Behind this
surface, one private module per step:

* planning: ``_planner`` keeps a participant's planned reminders and check-in
  prompts in step with their calendar (``replan_participant``; start-up re-planning
  on a new protocol revision);
* creating rows due now: ``_enqueue`` (``enqueue_now``, ``wake``), ``_one_time``
  (a sign-in code, sent by the request and never stored);
* sending: ``_dispatch`` (the pass), ``_send_checks`` (who may be written to, and
  when, re-checked at send time), ``_render`` (the text in the participant's
  language), ``_channels`` (SMS or WhatsApp, decided with the claim; the one SMS
  fallback when WhatsApp refuses), ``_send_cap`` (the cap shared by every process);
* outcomes: ``_recording`` (sent/failed, guarded by the claim), ``_reconcile``
  (ambiguous errors and lapsed claims: looked up, never re-sent blind), ``_retry``
  (the one retry policy), ``_receipts`` (status callbacks, early ones kept),
  ``_blocking`` (a number the provider refuses for good).
"""

from service.actions.outbox._blocking import blocked_by_opt_out
from service.actions.outbox._channels import render_for_channel, wants_whatsapp
from service.actions.outbox._counts import DispatchCounts
from service.actions.outbox._dispatch import (
    dispatch_due,
    next_due_at,
    next_lease_lapse,
    oldest_due_unsent,
)
from service.actions.outbox._enqueue import NOTIFY_CHANNEL, enqueue_now, wake
from service.actions.outbox._one_time import enqueue_one_time, send_one_time
from service.actions.outbox._planner import (
    desired_messages,
    replan_if_protocol_changed,
    replan_participant,
)
from service.actions.outbox._receipts import apply_status_callback
from service.actions.outbox._reconcile import reconcile_stale_claims
from service.actions.outbox._render import (
    RenderedSms,
    render_for_participant,
    render_for_screen,
    render_text,
)
from service.actions.outbox._send_cap import SendCap

__all__ = [
    "NOTIFY_CHANNEL",
    "DispatchCounts",
    "RenderedSms",
    "SendCap",
    "apply_status_callback",
    "blocked_by_opt_out",
    "desired_messages",
    "dispatch_due",
    "enqueue_now",
    "enqueue_one_time",
    "next_due_at",
    "next_lease_lapse",
    "oldest_due_unsent",
    "reconcile_stale_claims",
    "render_for_channel",
    "render_for_participant",
    "render_for_screen",
    "render_text",
    "replan_if_protocol_changed",
    "replan_participant",
    "send_one_time",
    "wake",
    "wants_whatsapp",
]
