"""The inbox's receiving edge: what the webhook does before it answers.

Only what must not be lost and what Twilio needs: the message stored once per
provider id (Twilio's ``MessageSid``: a retried webhook finds its row and stores
nothing), as ``pending``, and committed, in one ``INSERT … ON CONFLICT DO NOTHING``.
Nothing is looked up (whose number it is, the WhatsApp window) and nothing else is
written: the row is the receipt, and the understanding's audit entry records it with
what became of it. Understanding it comes after, from the stored
row (``_handle``), so a slow or failing understanding never makes Twilio wait or
retry, and a process that dies after the commit leaves a row someone will read.

Order per number is the order of storing: a message answered (committed) before
another one was stored has the lower id, and is visible whenever the later one is, so
"the oldest pending message of the number" is always the one to understand next. Two
messages stored at the same moment (Twilio delivering them in parallel) have no order
to keep; they are taken in id order once both are committed. So no lock is needed
here, and storing is one statement on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from service.adapters.phones import InvalidPhone, normalize_any
from service.db.insert_once import insert_values_unless_exists
from service.db.models import InboundMessage
from service.domain.inbound_text import clean_field, raw_b64, understood_text
from service.domain.whatsapp import SMS, WHATSAPP
from service.ports import InboundSms
from service.runtime import Runtime

__all__ = ["Stored", "store_inbound"]


@dataclass(frozen=True, slots=True)
class Stored:
    """What the webhook knows once the message is safe: whose it is, and whether it is new."""

    message_sid: str
    from_phone: str
    duplicate: bool


def _sender(sms: InboundSms) -> str:
    raw_from = clean_field(sms.from_phone, 64) or ""
    try:
        return normalize_any(raw_from)
    except InvalidPhone:
        return raw_from[:20]


async def store_inbound(rt: Runtime, sms: InboundSms) -> Stored:
    """Store one inbound message as pending: one INSERT, committed on its own."""
    # The provider always gives an id; without one a message is still kept (never "duplicate").
    sid = clean_field(sms.provider_id, 64) or f"none:{uuid4().hex}"
    phone = _sender(sms)
    received = sms.body
    stored = await insert_values_unless_exists(  # commits on its own
        InboundMessage,
        "message_sid",
        {
            "message_sid": sid,
            "from_phone": phone,
            "to_phone": clean_field(sms.to_phone, 20),
            "body": understood_text(received),
            "body_raw_b64": raw_b64(received),
            "opt_out_type": clean_field(sms.opt_out_type, 16),
            "channel": WHATSAPP if sms.channel == WHATSAPP else SMS,
            "received_at": rt.clock.now(),
        },
    )
    return Stored(sid, phone, duplicate=stored is None)
