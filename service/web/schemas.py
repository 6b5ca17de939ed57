"""Request and response bodies.

Every request struct forbids unknown fields: a typo, or a field the service must
never hold (a treatment arm, a kit number, a dose), is refused with a 400 that names
it, instead of being silently dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TokenRequest(Request):
    email: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  # the OAuth token type, not a secret


class EnrollIn(Request):
    study_id: str
    site: str
    phone: str
    can_become_pregnant: bool
    baseline_infusion_date: date
    sms_consent: bool
    language: str = "es"
    timezone: str | None = None
    preferred_time: str | None = None


class ParticipantPatch(Request):
    phone: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    can_become_pregnant: bool | UnsetType = UNSET
    sms_consent: bool | UnsetType = UNSET
    preferred_time: str | UnsetType | None = UNSET
    paused: bool | UnsetType = UNSET
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


class InfusionIn(Request):
    number: int = msgspec.field()
    date: date
    reason: str | None = None


class VisitOutcomeIn(Request):
    status: str
    date: date
    reason: str | None = None


class VisitOutcomeOut(msgspec.Struct):
    visit_code: str
    status: str
    date: date
    recorded_by: str
    recorded_at: datetime


class WithdrawIn(Request):
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


class SiteOut(msgspec.Struct):
    code: str
    name: str
    timezone: str
    help_line: str
    on_call_primary: str | None
    on_call_backup: str | None


class OnCallIn(Request):
    primary: str
    backup: str | None = None
