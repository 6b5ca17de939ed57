"""Inbound SMS and WhatsApp: the inbox. The webhook stores each message once and
answers (``store_inbound``); understanding it follows from the stored row, in order per
number, each message in its own transaction (``understand_number``, and the periodic
``understand_waiting`` for messages whose process died). ``handle_inbound`` does both
in one call (the demo phone, tests). Nothing is sent here.

Private modules: ``_store`` (the receiving edge), ``_handle`` (understanding, one
number at a time, retries), ``_dialogue`` (what a message from a participant answers,
in order), ``_keywords`` (BAJA, ALTA, AYUDA in any state), ``_context`` (the prompt or
reminder a reply may answer, and opening a conversation), ``_checkins`` and
``_reports`` (a check-in finished by SMS, a red flag reported unasked), ``_work`` (the
decision and its replies), ``_reply_cap`` (how many automatic answers one number
gets), ``_attach`` (a text from an unknown number handled by a person), ``_latency``
(receipt to reply queued, for ``/metrics``).
"""

from service.actions.inbound._attach import attach_to_participant, reveal_sender
from service.actions.inbound._handle import (
    InboundOutcome,
    handle_inbound,
    understand_after_receipt,
    understand_number,
    understand_waiting,
)
from service.actions.inbound._latency import inbox_metrics
from service.actions.inbound._store import Stored, store_inbound

__all__ = [
    "InboundOutcome",
    "Stored",
    "attach_to_participant",
    "handle_inbound",
    "inbox_metrics",
    "reveal_sender",
    "store_inbound",
    "understand_after_receipt",
    "understand_number",
    "understand_waiting",
]
