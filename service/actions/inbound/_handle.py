"""Handling one inbound SMS: store it, order it, understand it, queue the answers.

Order of business, and why:

1. One transaction does everything the message changes: the raw message (once per
   provider id, Twilio's ``MessageSid``: Twilio retries a webhook it thinks failed, and a retry must
   neither duplicate the record nor move a conversation twice), the conversation
   step, a finished check-in with its alert, and the reply rows. A crash leaves all of
   it or none of it, and Twilio's retry then finds nothing or a duplicate.
2. Messages from one number are handled one at a time across every process: the
   transaction first takes a lock on the number (``service.db.locks``: a PostgreSQL
   advisory lock; SQLite's single writer), so two replies that arrive together are
   applied in order, never interleaved.
3. What the message means is decided in :mod:`service.actions.inbound`
   (keywords first, :mod:`service.actions.inbound`, then reports, the
   dialogue, SINTOMAS, "SI", the coordinators' queue).
4. If understanding fails (a bug, a conversation state saved by another version),
   the whole transaction is rolled back and a second one stores the message for
   people (``not_understood``), rather than answering Twilio with a 500 whose
   retries would fail the same way until it gives up. Rolling back and starting
   again costs nothing on the normal path, where a savepoint around understanding
   cost two statements per message.

This module holds the transaction and the stored message: the number's lock, the
message inserted once per MessageSid in one statement (``INSERT … ON CONFLICT DO
NOTHING``, which is also the duplicate check), its final handling and the audit.

Nothing is sent here. Replies are outbound rows created with the outbox's
``enqueue_now`` inside the transaction; after the commit ``wake`` tells the
dispatchers, and the webhook answers an empty ``<Response/>`` at once, so no request
waits for the provider or holds the number's lock while a message is sent.

What a participant sent is never refused: a NUL, other control characters or a lone
surrogate are cleaned from the text the service reads, and the exact original is
kept beside it (``domain.inbound_text``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from tortoise.transactions import in_transaction

from service.actions.inbound._checkins import store_sms_checkin
from service.actions.inbound._dialogue import understand
from service.actions.inbound._reports import store_sms_report
from service.actions.inbound._work import Work, queue_for_people, reply
from service.actions.outbox import wake
from service.adapters.phones import InvalidPhone, normalize_any
from service.db.audit import audit
from service.db.insert_once import insert_unless_exists
from service.db.locks import serialize_on
from service.db.models import InboundMessage, OutboundMessage, Participant
from service.domain.actors import participant_label
from service.domain.conversation import Outgoing
from service.domain.inbound_text import clean_field, raw_b64, understood_text
from service.domain.states import AuditAction, InboundHandling, InboxReason
from service.domain.whatsapp import SMS, WHATSAPP
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["InboundOutcome", "handle_inbound"]

log = logging.getLogger("service.inbound")


@dataclass
class InboundOutcome:
    handling: InboundHandling
    duplicate: bool = False
    replies: list[OutboundMessage] = field(default_factory=list)


class _NotUnderstood(Exception):
    """Understanding failed: roll back, then keep the message for people."""


def _sender(sms: InboundSms) -> str:
    raw_from = clean_field(sms.from_phone, 64) or ""
    try:
        return normalize_any(raw_from)
    except InvalidPhone:
        return raw_from[:20]


async def handle_inbound(rt: Runtime, sms: InboundSms) -> InboundOutcome:
    """Store, order and understand one inbound SMS; queue its answers (none sent)."""
    # The provider always gives an id; without one a message is still kept (never "duplicate").
    sid = clean_field(sms.provider_id, 64) or f"none:{uuid4().hex}"
    phone = _sender(sms)
    try:
        async with in_transaction():
            stored = await _store(rt, sid, phone, sms)
            if stored is None:
                return InboundOutcome(handling=InboundHandling.DUPLICATE, duplicate=True)
            participant, inbound = stored
            work = await _understood(rt, participant, inbound, sms)
            await _finish(rt, participant, inbound, work)
    except _NotUnderstood as failure:
        # Only the type: a message may quote the participant's text.
        log.error("inbound sms not understood (%s)", failure)
        async with in_transaction():
            stored = await _store(rt, sid, phone, sms)
            if stored is None:  # a retry got through meanwhile
                return InboundOutcome(handling=InboundHandling.DUPLICATE, duplicate=True)
            participant, inbound = stored
            work = Work(handling=InboundHandling.NOT_UNDERSTOOD)
            await queue_for_people(rt, participant, inbound, InboxReason.NOT_UNDERSTOOD)
            await _finish(rt, participant, inbound, work)
    if work.replies or work.alerted:
        wake(rt)
    log.info("inbound sms handled: %s (%d replies queued)", work.handling, len(work.replies))
    return InboundOutcome(handling=work.handling, replies=work.replies)


async def _store(
    rt: Runtime, sid: str, phone: str, sms: InboundSms
) -> tuple[Participant | None, InboundMessage] | None:
    """Take the number's lock and store the message; None if this MessageSid is stored
    already (a retry, possibly handled by another process)."""
    await serialize_on(f"sms-from:{phone}")
    participant = await Participant.filter(phone=phone).select_for_update().first()
    received = sms.body
    inbound = InboundMessage(
        message_sid=sid,
        participant=participant,
        from_phone=phone,
        to_phone=clean_field(sms.to_phone, 20),
        body=understood_text(received),
        body_raw_b64=raw_b64(received),
        opt_out_type=clean_field(sms.opt_out_type, 16),
        channel=WHATSAPP if sms.channel == WHATSAPP else SMS,
        received_at=rt.clock.now(),
    )
    if not await insert_unless_exists(inbound, "message_sid"):
        return None
    if participant is not None and inbound.channel == WHATSAPP:
        await _open_whatsapp_window(participant, inbound.received_at)
    return participant, inbound


async def _open_whatsapp_window(participant: Participant, received_at: datetime) -> None:
    """A message by WhatsApp opens WhatsApp's 24-hour window for free-form messages
    (decided per message at send time). A number known only for SMS is matched all
    the same: the participant is found by their number, whatever the channel."""
    last = participant.whatsapp_last_inbound_at
    if last is None or received_at > last:
        participant.whatsapp_last_inbound_at = received_at
        await Participant.filter(id=participant.id).update(whatsapp_last_inbound_at=received_at)


async def _understood(
    rt: Runtime, participant: Participant | None, inbound: InboundMessage, sms: InboundSms
) -> Work:
    """Understand the message and store what it finished; any failure is _NotUnderstood."""
    if participant is None:
        await queue_for_people(rt, None, inbound, InboxReason.UNKNOWN_SENDER)
        return Work(handling=InboundHandling.UNKNOWN_SENDER)
    try:
        work = await understand(rt, participant, inbound, sms)
        if work.finished is not None:
            advice, work.alerted = await store_sms_checkin(rt, participant, inbound, *work.finished)
            work.replies.extend([advice] if advice is not None else [])
        if work.report is not None:
            advice, alerted = await store_sms_report(
                rt, participant, inbound.message_sid, inbound.body, work.report
            )
            work.alerted = work.alerted or alerted
            if advice is not None:
                work.replies.append(advice)
            else:  # a repeat of what the team was alerted to: acknowledged, not re-advised
                await reply(rt, participant, inbound, Outgoing("inbound.received"), 0, work)
    except Exception as exc:
        raise _NotUnderstood(type(exc).__name__) from exc
    return work


async def _finish(
    rt: Runtime, participant: Participant | None, inbound: InboundMessage, work: Work
) -> None:
    """Record the message's handling and audit it."""
    inbound.handling = work.handling
    await inbound.save(update_fields=["handling", "late"])
    changes: dict[str, Any] = {
        "handling": work.handling,
        "message_sid": inbound.message_sid,
        "channel": inbound.channel,
    }
    if inbound.body_raw_b64 is not None:
        changes["cleaned"] = True  # the raw text had characters the service cannot read
    if work.capped:
        changes["replies_capped"] = work.capped
    await audit(
        at=rt.clock.now(),
        actor=participant_label(participant.study_id) if participant else "sms:unknown",
        action=AuditAction.SMS_INBOUND,
        entity="inbound_message",
        entity_id=inbound.id,
        changes=changes,
    )
