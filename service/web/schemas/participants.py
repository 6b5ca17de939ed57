"""Participants: enrolment, changes, infusions, visit outcomes, withdrawal, the calendar
and the staff-side session revocation."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from msgspec import UNSET, UnsetType

from service.web.schemas.base import StrictBody


class WhatsAppOptInIn(StrictBody):
    """How (``written``, ``verbal``, ``app``) and when (default: now) the participant
    agreed to receive study messages by WhatsApp."""

    method: str
    at: datetime | None = None


class WhatsAppOptInOut(msgspec.Struct):
    method: str
    at: datetime
    recorded_by: str
    text: str


class EnrollIn(StrictBody):
    study_id: str
    site: str
    phone: str
    can_become_pregnant: bool
    baseline_infusion_date: date
    sms_consent: bool
    language: str = "es"
    timezone: str | None = None
    preferred_time: str | None = None
    channel: str = "sms"
    whatsapp_opt_in: WhatsAppOptInIn | None = None


class ParticipantPatch(StrictBody):
    phone: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    can_become_pregnant: bool | UnsetType = UNSET
    sms_consent: bool | UnsetType = UNSET
    preferred_time: str | UnsetType | None = UNSET
    paused: bool | UnsetType = UNSET
    channel: str | UnsetType = UNSET
    whatsapp_opt_in: WhatsAppOptInIn | UnsetType = UNSET
    reason: str | None = None


class ParticipantOut(msgspec.Struct):
    study_id: str
    site: str
    phone: str
    language: str
    timezone: str
    can_become_pregnant: bool
    baseline_infusion_date: date
    second_infusion_date: date | None
    sms_consent: bool
    preferred_time: str | None
    status: str
    paused: bool
    opted_out: bool
    sms_blocked_code: int | None
    withdrawn_at: datetime | None
    created_at: datetime
    channel: str
    whatsapp_opt_in: WhatsAppOptInOut | None


class InfusionIn(StrictBody):
    number: int = msgspec.field()
    date: date
    reason: str | None = None


class VisitOutcomeIn(StrictBody):
    status: str
    date: date
    reason: str | None = None


class VisitOutcomeOut(msgspec.Struct):
    visit_code: str
    status: str
    date: date
    recorded_by: str
    recorded_at: datetime


class WithdrawIn(StrictBody):
    reason: str | None = None


class VisitOut(msgspec.Struct):
    code: str
    name: str
    kind: str
    anchor: str
    anchor_date: date
    target_date: date
    window_start: date
    window_end: date
    shifted: bool
    status: str
    outcome_date: date | None


class CalendarOut(msgspec.Struct):
    study_id: str
    protocol_revision: str
    visits: list[VisitOut]


class SessionsRevokedOut(msgspec.Struct):
    revoked: int
