"""A participant's messages as coordinators see them: planned, sent, failed, received.

Lateness must be on record, so a message that went out shows both the moment it
was planned for and the moment it actually left. Planned messages are rendered now,
exactly as the dispatcher would, so a coordinator reads the real text, its encoding
and its segment count before it is sent. Times are UTC plus the participant's local
wall-clock time (ISO 8601 with offset), because "10:00-03:00" versus "10:00-04:00"
is how a daylight-saving change shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from service.actions.outbox import render_for_channel
from service.db.models import InboundMessage, OutboundMessage, Participant, Site
from service.domain.states import MessageStatus
from service.runtime import Runtime

__all__ = ["MessageView", "participant_messages"]

# Rows whose text is rendered now, as the dispatcher would (none was stored, or it
# is stale).
_NOT_YET_SENT = frozenset(
    {
        MessageStatus.PLANNED,
        MessageStatus.SENDING,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    direction: str  # outbound | inbound
    kind: str  # reminder, checkin, reply, alert, otp; "sms" for inbound
    status: str  # outbound lifecycle status; for inbound, how it was handled
    send_at: datetime  # UTC: when it left (or will leave, or was received)
    local_send_at: str  # the same moment in the participant's zone, ISO 8601
    planned_send_at: datetime | None  # outbound: the moment it was planned for
    sent_at: datetime | None
    delivered_at: datetime | None
    message_key: str | None
    body: str | None
    encoding: str | None
    segments: int | None
    attempts: int
    error_code: int | None
    budget: str | None = None  # what the daily budget did: moved / dropped, and from when
    # Why it did not (or will not) go out by SMS: a code of domain/not_sent.py.
    skip_reason: str | None = None
    channel: str = "sms"  # sms | whatsapp: what carried it (planned: what would now)
    template: str | None = None  # the WhatsApp template's ContentSid, when one carries it
    # Why a WhatsApp participant's message went (or goes) by SMS: domain/whatsapp.py.
    fallback_reason: str | None = None
    read: bool = False  # WhatsApp reported that the person read it


async def participant_messages(
    rt: Runtime, participant: Participant, *, include_cancelled: bool = False
) -> list[MessageView]:
    """Every message to or from ``participant``, oldest first."""
    tz = ZoneInfo(participant.timezone)
    site = await Site.get_or_none(code=participant.site_id)
    rows = await OutboundMessage.filter(participant_id=participant.id)
    # A message the daily budget dropped is shown (cancelled, with its note) anyway.
    shown = [
        row
        for row in rows
        if include_cancelled
        or row.status != MessageStatus.CANCELLED
        or (row.params or {}).get("budget")
    ]
    views = [_outbound(rt, row, participant, site, tz) for row in shown]
    for inbound in await InboundMessage.filter(participant_id=participant.id):
        views.append(
            MessageView(
                id=inbound.id,
                direction="inbound",
                kind="sms",
                status=inbound.handling,
                send_at=inbound.received_at,
                local_send_at=inbound.received_at.astimezone(tz).isoformat(),
                planned_send_at=None,
                sent_at=None,
                delivered_at=None,
                message_key=None,
                body=inbound.body,
                encoding=None,
                segments=None,
                attempts=0,
                error_code=None,
                channel=inbound.channel,
            )
        )
    views.sort(key=lambda v: (v.send_at, v.direction, v.id))
    return views


def _outbound(
    rt: Runtime, row: OutboundMessage, participant: Participant, site: Site | None, tz: ZoneInfo
) -> MessageView:
    body: str | None = row.body
    if row.status in _NOT_YET_SENT or body is None:
        # As the dispatcher would send it at its time (the WhatsApp window judged then).
        own_phone = row.to_phone in (None, participant.phone)
        moment = max(row.send_at, rt.clock.now())
        try:
            render_for_channel(rt, row, participant, own_phone, site, moment)
            body = row.body
        except Exception:  # shown without text; the dispatcher will fail it with the reason
            body = None
    encoding, segments = row.encoding, row.segments
    moment = row.sent_at if row.sent_at is not None else row.send_at
    return MessageView(
        id=row.id,
        direction="outbound",
        kind=row.kind,
        status=row.status,
        send_at=moment,
        local_send_at=moment.astimezone(tz).isoformat(),
        planned_send_at=row.send_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        message_key=row.message_key,
        body=body,
        encoding=encoding,
        segments=segments,
        attempts=row.attempts,
        error_code=row.error_code,
        budget=(row.params or {}).get("budget"),
        skip_reason=row.skip_reason,
        channel=row.channel,
        template=row.content_sid,
        fallback_reason=row.fallback_reason,
        read=row.provider_status == "read",
    )
