"""The inbox's receiving edge: what the webhook does before it answers.

Only what must not be lost and what Twilio needs: the message stored once per
provider id (Twilio's ``MessageSid``: a retried webhook finds its row and stores
nothing), as ``pending``, and committed, in one ``INSERT … ON CONFLICT DO NOTHING``.
Nothing is looked up (whose number it is, the WhatsApp window) and nothing else is
written: the row is the receipt, and the understanding's audit entry records it with
what became of it. Understanding it comes after, from the stored
row (``_handle``), so a slow or failing understanding never makes Twilio wait or
retry, and a process that dies after the commit leaves a row someone will read.

Ids must follow commit order per number, so that "the oldest pending message of a
number" is always the one to understand next (no later message of that number can
commit below an id already read). SQLite has one writer, so they do; on PostgreSQL
messages from one number are stored one at a time across every process (a lock on
``sms-store:<number>``, held for this one short transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from tortoise import connections
from tortoise.transactions import in_transaction

from service.adapters.phones import InvalidPhone, normalize_any
from service.db.insert_once import insert_unless_exists
from service.db.locks import serialize_on
from service.db.models import InboundMessage
from service.domain.inbound_text import clean_field, raw_b64, understood_text
from service.domain.whatsapp import SMS, WHATSAPP
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["Stored", "store_inbound", "understanding_key"]


@dataclass(frozen=True, slots=True)
class Stored:
    """What the webhook knows once the message is safe: whose it is, and whether it is new."""

    message_sid: str
    from_phone: str
    duplicate: bool


def understanding_key(phone: str) -> str:
    """The lock under which one number's messages are understood, one at a time."""
    return f"sms-from:{phone}"


def _sender(sms: InboundSms) -> str:
    raw_from = clean_field(sms.from_phone, 64) or ""
    try:
        return normalize_any(raw_from)
    except InvalidPhone:
        return raw_from[:20]


async def store_inbound(rt: Runtime, sms: InboundSms) -> Stored:
    """Store one inbound message as pending: one INSERT (on PostgreSQL with the
    number's storing lock before it, in one short transaction)."""
    # The provider always gives an id; without one a message is still kept (never "duplicate").
    sid = clean_field(sms.provider_id, 64) or f"none:{uuid4().hex}"
    phone = _sender(sms)
    received = sms.body
    inbound = InboundMessage(
        message_sid=sid,
        from_phone=phone,
        to_phone=clean_field(sms.to_phone, 20),
        body=understood_text(received),
        body_raw_b64=raw_b64(received),
        opt_out_type=clean_field(sms.opt_out_type, 16),
        channel=WHATSAPP if sms.channel == WHATSAPP else SMS,
        received_at=rt.clock.now(),
    )
    if connections.get("default").capabilities.dialect == "sqlite":
        # One writer: ids are in commit order already, and a single statement commits alone.
        stored = await insert_unless_exists(inbound, "message_sid")
    else:
        async with in_transaction():
            await serialize_on(f"sms-store:{phone}")
            stored = await insert_unless_exists(inbound, "message_sid")
    return Stored(sid, phone, duplicate=not stored)
