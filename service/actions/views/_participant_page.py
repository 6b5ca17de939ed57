"""Everything one participant's dashboard page shows, in plain values, in a fixed
number of SQL statements however long the follow-up has run.

Statements: the participant (scoped), their site, visit outcomes, outbound
messages, inbound messages, check-in versions and the participant's alerts (which
also say which check-in raised each): seven, counted by
tests/integration/test_participant_page_data.py.
Rows are read per participant, never per row; everything else (calendar windows,
rendering planned texts, code meanings) is computed in memory.

The timeline says what happened to each message and, for one that did not go out,
why (``skip_reason``, recorded where the outbox decided it; see domain/not_sent.py).
Rows cancelled only because the plan moved on (a visit recorded, a date moved) are
left out: they were never going to reach anyone and would bury the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.actions.access import participant_for
from service.actions.alerts import alert_summary
from service.actions.calendars import CalendarRow, calendar_with_status
from service.actions.checkins import CheckinRecord, checkin_record
from service.actions.participants import WhatsAppOptIn, whatsapp_opt_in
from service.actions.views._messages import participant_messages
from service.db.models import Alert, Checkin
from service.domain import not_sent
from service.domain.actors import Actor
from service.runtime import Runtime

__all__ = [
    "AlertEntry",
    "ParticipantPage",
    "ParticipantSummary",
    "TimelineEntry",
    "participant_page",
]


@dataclass(frozen=True, slots=True)
class ParticipantSummary:
    study_id: str
    site: str
    status: str  # active | withdrawn
    phone: str
    language: str
    timezone: str
    preferred_time: str | None
    paused: bool
    opted_out: bool
    sms_consent: bool
    sms_blocked_code: int | None
    can_become_pregnant: bool
    baseline_infusion_date: date
    second_infusion_date: date | None
    withdrawn_at: datetime | None
    created_at: datetime
    channel: str = "sms"
    whatsapp_opt_in: WhatsAppOptIn | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    direction: str  # outbound | inbound
    kind: str  # reminder, checkin, reply, alert, otp; "sms" for inbound
    status: str  # planned, in_app, sent, delivered, undelivered, failed, cancelled, expired
    at: datetime  # UTC: sent, or planned, or received
    local_at: datetime  # the same moment in the participant's zone
    planned_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    body: str | None
    segments: int | None
    error_code: int | None
    error_meaning: str | None  # the provider's code in words, in the page's locale
    skip_reason: str | None  # why it did not go out by SMS (domain/not_sent.py)
    budget: str | None  # the daily budget's note when it moved or dropped the message
    channel: str = "sms"  # sms | whatsapp
    template: str | None = None  # the WhatsApp template (ContentSid) that carried it
    fallback_reason: str | None = None  # why it went by SMS for a WhatsApp participant
    read: bool = False  # WhatsApp reported it read


@dataclass(frozen=True, slots=True)
class AlertEntry:
    id: int
    status: str  # open | acknowledged
    emergency: bool
    summary: str  # Spanish, as the on-call SMS said it
    checkin_id: int | None
    raised_at: datetime
    notified_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ParticipantPage:
    participant: ParticipantSummary
    calendar: list[CalendarRow]
    timeline: list[TimelineEntry]  # oldest first
    checkins: list[CheckinRecord]  # every version, newest first
    alerts: list[AlertEntry]  # newest first


def _summary(p: Any) -> ParticipantSummary:
    return ParticipantSummary(
        study_id=p.study_id,
        site=p.site_id,
        status=p.status,
        phone=p.phone,
        language=p.language,
        timezone=p.timezone,
        preferred_time=p.preferred_time,
        paused=p.paused,
        opted_out=p.opted_out,
        sms_consent=p.sms_consent,
        sms_blocked_code=p.sms_blocked_code,
        can_become_pregnant=p.can_become_pregnant,
        baseline_infusion_date=p.baseline_infusion_date,
        second_infusion_date=p.second_infusion_date,
        withdrawn_at=p.withdrawn_at,
        created_at=p.created_at,
        channel=p.channel,
        whatsapp_opt_in=whatsapp_opt_in(p),
    )


def _alert(rt: Runtime, alert: Alert) -> AlertEntry:
    return AlertEntry(
        id=alert.id,
        status=alert.status,
        emergency=alert.emergency,
        summary=alert_summary(rt, alert.findings),
        checkin_id=alert.checkin_id,
        raised_at=alert.raised_at,
        notified_at=alert.notified_at,
        escalated_at=alert.escalated_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        note=alert.note,
    )


async def _checkins(participant_id: int, alerts: list[Alert]) -> list[CheckinRecord]:
    """Every check-in version, newest first, with the alerts it raised (from ``alerts``,
    already read, instead of one more query that would be skipped when there are none)."""
    raised: dict[int, list[int]] = {}
    for alert in sorted(alerts, key=lambda a: a.id):
        checkin_id = alert.checkin_id
        if checkin_id is not None:
            raised.setdefault(checkin_id, []).append(alert.id)
    rows = await Checkin.filter(participant_id=participant_id).order_by("-submitted_at", "-id")
    return [checkin_record(row, raised.get(row.id, [])) for row in rows]


def _error_words(rt: Runtime, code: int | None, locale: str) -> str | None:
    """The provider's code in the words its adapter gives coordinators (None: no code)."""
    return None if code is None else rt.gateway.explain_error(code, locale).words


async def participant_page(
    rt: Runtime, actor: Actor, study_id: str, *, locale: str = "es"
) -> ParticipantPage:
    """The page's data; another site's study id is "not found", as in the API."""
    participant = await participant_for(actor, study_id)
    tz = ZoneInfo(participant.timezone)
    calendar = await calendar_with_status(rt, participant)
    views = await participant_messages(rt, participant, include_cancelled=True)
    timeline = [
        TimelineEntry(
            id=view.id,
            direction=view.direction,
            kind=view.kind,
            status=view.status,
            at=view.send_at,
            local_at=view.send_at.astimezone(tz),
            planned_at=view.planned_send_at,
            sent_at=view.sent_at,
            delivered_at=view.delivered_at,
            body=view.body,
            segments=view.segments,
            error_code=view.error_code,
            error_meaning=_error_words(rt, view.error_code, locale),
            skip_reason=view.skip_reason,
            budget=view.budget,
            channel=view.channel,
            template=view.template,
            fallback_reason=view.fallback_reason,
            read=view.read,
        )
        for view in views
        if not (view.status == "cancelled" and view.skip_reason in (None, not_sent.NOT_NEEDED))
        or view.budget
    ]
    alerts = await Alert.filter(participant_id=participant.id).order_by("-raised_at", "-id")
    checkins = await _checkins(participant.id, alerts)
    return ParticipantPage(
        participant=_summary(participant),
        calendar=calendar,
        timeline=timeline,
        checkins=checkins,
        alerts=[_alert(rt, alert) for alert in alerts],
    )
