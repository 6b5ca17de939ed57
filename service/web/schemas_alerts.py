"""Request and response bodies of the safety-alert and check-in record routes.

Kept apart from ``schemas.py`` (owned elsewhere); requests forbid unknown fields in
the same way, through the shared ``Request`` base.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from service.web.schemas import Request


class AcknowledgeIn(Request):
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


class CheckinRecordOut(msgspec.Struct):
    id: int
    checkin_key: str
    questionnaire: str
    channel: str  # sms | app
    version: int
    late: bool
    complete: bool
    answers: dict[str, Any]
    raw_texts: list[str]
    submitted_at: datetime
    alert_ids: list[int]
