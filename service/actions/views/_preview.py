"""``followup reminders preview STUDY_ID``: a participant's messages, one line each.

For a coordinator or the study team checking a schedule by eye: the local send time
with its weekday in the participant's language and the UTC offset (so a daylight-
saving change is visible), the kind and status, the channel and what it costs (SMS:
encoding and segments; WhatsApp: the template outside the 24-hour window, or
free-form) and the text on one line. Sent messages also show when they were planned for.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from service.actions.errors import NotFound
from service.actions.views._messages import MessageView, participant_messages
from service.db.models import Participant
from service.domain.states import MessageStatus
from service.domain.text_render import babel_locale
from service.runtime import Runtime

__all__ = ["preview_lines"]

_PATTERN = "EEE yyyy-MM-dd HH:mm xxx"


def _local(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    return format_datetime(moment, _PATTERN, tzinfo=tz, locale=locale).replace("\u00a0", " ")


def _line(view: MessageView, tz: ZoneInfo, locale: str) -> str:
    when = _local(view.send_at, tz, locale)
    if view.channel == "whatsapp":  # no segments; a template outside the 24-hour window
        cost = f"whatsapp {view.template or 'free-form'}"
    else:
        cost = f"sms {view.encoding or '?'} x{view.segments if view.segments is not None else '?'}"
        if view.fallback_reason:
            cost += f" (instead of whatsapp: {view.fallback_reason})"
    status = view.status
    if view.sent_at is not None and view.planned_send_at is not None:
        status += f" (planned {_local(view.planned_send_at, tz, locale)})"
    if view.error_code is not None:
        status += f" [error {view.error_code}]"
    if view.budget:
        status += f" [{view.budget}]"
    elif view.skip_reason:
        status += f" [{view.skip_reason}]"  # why it will not go out by SMS
    text = " / ".join((view.body or "(cannot be rendered)").splitlines())
    return f"{when}  {view.kind:<8} {status}  {cost}  {text}"


async def preview_lines(rt: Runtime, study_id: str) -> list[str]:
    participant = await Participant.get_or_none(study_id=study_id)
    if participant is None:
        raise NotFound(f"no participant {study_id!r}")
    tz = ZoneInfo(participant.timezone)
    locale = babel_locale(participant.language)
    views = [v for v in await participant_messages(rt, participant) if v.direction == "outbound"]
    planned = sum(v.status == MessageStatus.PLANNED for v in views)
    budgeted = sum(v.budget is not None for v in views)
    header = (
        f"{participant.study_id}: zone {participant.timezone}, language {participant.language},"
        f" {planned} planned, {len(views) - planned} other (cancelled not shown, except what"
        f" the daily budget dropped); daily budget moved or dropped {budgeted}"
    )
    return [header, *(_line(v, tz, locale) for v in views)]
