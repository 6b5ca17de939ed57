"""Inbound SMS: store each message once, in order per number, understand it, queue the
answers, all in one transaction (``handle_inbound``; nothing is sent here).

Private modules: ``_handle`` (the transaction and the stored message), ``_dialogue``
(what a message from a participant answers, in order), ``_keywords`` (BAJA, ALTA,
AYUDA in any state), ``_context`` (the prompt or reminder a reply may answer, and
opening a conversation), ``_checkins`` and ``_reports`` (a check-in finished by SMS,
a red flag reported unasked), ``_work`` (the decision and its replies),
``_reply_cap`` (how many automatic answers one number gets), ``_attach`` (a text from
an unknown number handled by a person).
"""

from service.actions.inbound._attach import attach_to_participant, reveal_sender
from service.actions.inbound._handle import InboundOutcome, handle_inbound

__all__ = ["InboundOutcome", "attach_to_participant", "handle_inbound", "reveal_sender"]
