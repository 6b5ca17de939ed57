"""Safety alerts and the coordinators' queue (inbox): what staff read and close."""

from __future__ import annotations

from datetime import datetime

import msgspec

from service.web.schemas.base import StrictBody


class AcknowledgeIn(StrictBody):
    note: str


class FindingOut(msgspec.Struct):
    code: str  # pregnancy_yes, fever, red_flag:<symptom>, severe:<symptom>
    label: str  # Spanish, as the on-call SMS says it: "Fiebre 38,5 °C (moderado)"
    emergency: bool
    params: dict[str, str]  # symptom code, severity, temperature_c


class AlertOut(msgspec.Struct):
    id: int
    study_id: str
    site: str
    findings: list[FindingOut]
    summary: str
    emergency: bool
    status: str  # open | acknowledged
    checkin_id: int | None
    raised_at: datetime
    notified_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


class InboxItemOut(msgspec.Struct):
    id: int
    reason: str
    status: str
    study_id: str | None
    site: str | None
    text: str | None
    received_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class CloseIn(StrictBody):
    note: str | None = None
