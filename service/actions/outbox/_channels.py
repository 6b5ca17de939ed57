"""Which channel carries a claimed row, its rendering for that channel, and the one
fallback to SMS when WhatsApp refuses a message that SMS can carry.

Why here, at send time: the participant's channel, opt-in and 24-hour window can all
change between planning and sending (a reply opens the window; an opt-out stops
both channels; a coordinator switches the channel), so the decision is made with the
row's claim, like the text itself. Quiet hours and the daily budget are decided
before this, on the row, so they hold across both channels together.

Exactly once, on exactly one channel: a row falls back to SMS only when WhatsApp
*proved* it did not take the message (a 4xx carrying a WhatsApp code of class
``wrong_channel``); then the same row, under the same claim rules, goes by SMS once,
with ``fallback_reason`` set so it never goes back to WhatsApp. Anything ambiguous is
looked up first at the provider, on the channel the row was sent on.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from service.actions.outbox._enqueue import wake
from service.actions.outbox._render import render_text, render_whatsapp
from service.actions.outbox._rows import audit_message, claimed_by
from service.db.models import OutboundMessage, Participant, Site
from service.domain import whatsapp
from service.domain.actors import SYSTEM
from service.domain.states import AuditAction, MessageStatus
from service.ports import SmsFailure, SmsSendError
from service.runtime import Runtime

__all__ = ["fall_back_to_sms", "render_for_channel", "wants_whatsapp"]

log = logging.getLogger("service.dispatch")


def wants_whatsapp(participant: Participant) -> bool:
    """Their channel is WhatsApp and their opt-in is on record (required to send)."""
    return participant.channel == whatsapp.WHATSAPP and participant.whatsapp_opt_in_at is not None


def choose(
    rt: Runtime,
    row: OutboundMessage,
    participant: Participant | None,
    own_phone: bool,
    now: datetime,
) -> whatsapp.ChannelChoice:
    if participant is None or not own_phone:
        return whatsapp.ChannelChoice(whatsapp.SMS)  # staff numbers: SMS
    return whatsapp.choose_channel(
        wants_whatsapp=wants_whatsapp(participant),
        whatsapp_ready=rt.settings.whatsapp_enabled,
        in_window=whatsapp.within_window(participant.whatsapp_last_inbound_at, now),
        template=rt.whatsapp_templates.get(row.message_key, row.language),
        fallen_back=row.fallback_reason == whatsapp.REFUSED,
    )


def render_for_channel(
    rt: Runtime,
    row: OutboundMessage,
    participant: Participant | None,
    own_phone: bool,
    site: Site | None,
    now: datetime,
) -> None:
    """Decide the channel and put its rendering on ``row`` (not saved): the body, and
    for SMS its encoding and segments, for a WhatsApp template its ContentSid and
    variables."""
    choice = choose(rt, row, participant, own_phone, now)
    row.channel = choice.channel
    row.content_sid, row.content_variables = None, None
    if choice.fallback_reason is not None and row.fallback_reason is None:
        row.fallback_reason = choice.fallback_reason
    if choice.channel == whatsapp.WHATSAPP:
        rendered = render_whatsapp(rt, row.message_key, row.language, row.params, site)
        row.body, row.encoding, row.segments = rendered.text, None, None
        if choice.template is not None:
            row.content_sid = choice.template.content_sid
            row.content_variables = choice.template.content_variables(rendered.values)
        return
    sms = render_text(rt, row.message_key, row.language, row.params, site)
    row.body = sms.text
    row.encoding, row.segments = sms.encoding.encoding, sms.encoding.segments


async def fall_back_to_sms(
    rt: Runtime, row: OutboundMessage, exc: SmsSendError, detail: str
) -> bool:
    """WhatsApp refused ``row`` for a reason SMS can overcome: back to planned, due now,
    marked to go by SMS (the WhatsApp attempt does not use up an SMS attempt). False
    when this is not such a refusal or the claim was lost."""
    if row.channel != whatsapp.WHATSAPP or exc.failure is not SmsFailure.WRONG_CHANNEL:
        return False
    now = rt.clock.now()
    async with in_transaction():
        changed = await claimed_by(row.id, row.claim_token or "").update(
            status=MessageStatus.PLANNED,
            channel=whatsapp.SMS,
            fallback_reason=whatsapp.REFUSED,
            content_sid=None,
            content_variables=None,
            error_code=exc.code,
            error_detail=detail,
            send_at=now,
            claim_token=None,
            lease_until=None,
            attempts=F("attempts") - 1,
            updated_at=now,
        )
        if changed:
            await audit_message(
                now, SYSTEM.label, AuditAction.MESSAGE_FALLBACK, row, error_code=exc.code, to="sms"
            )
    if changed:
        log.info("dispatch: message %s refused by WhatsApp (%s); goes by SMS", row.id, exc.code)
        wake(rt)
    return bool(changed)
