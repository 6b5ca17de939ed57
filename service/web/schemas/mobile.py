"""Request and response bodies of the mobile app's API (``/api/v1/mobile``).

Kept apart from the staff schemas because the two audiences must never share a
shape by accident: nothing here carries a phone number of someone else, a site's
on-call numbers, or (like everywhere) a treatment arm. Request structs forbid
unknown fields, so a misspelt or forbidden field is a 400 that names it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from service.web.schemas.base import StrictBody

Phone = Annotated[str, Meta(min_length=1, max_length=32, description="E.164 or Chilean form")]
CheckinKey = Annotated[str, Meta(min_length=1, max_length=96)]
Temperature = Annotated[float, Meta(ge=34, le=43, description="degrees Celsius")]


class CodeRequestIn(StrictBody):
    phone: Phone


class CodeVerifyIn(StrictBody):
    phone: Phone
    code: Annotated[str, Meta(min_length=1, max_length=16, description="the 6 digits")]


class AcceptedOut(msgspec.Struct):
    """The same body for every number, known or not."""

    detail: str = "if this number belongs to a participant, a code is on its way by SMS"


class MeOut(msgspec.Struct):
    study_id: str
    site: str
    site_name: str
    help_line: str
    language: str
    timezone: str
    preferred_time: str | None
    paused: bool
    sms_consent: bool
    status: str


class DueCheckinOut(msgspec.Struct):
    checkin_key: str
    questionnaire: str
    due_at: datetime
    expires_at: datetime


class CheckinOut(msgspec.Struct):
    checkin_key: str
    questionnaire: str
    channel: str
    version: int
    answers: dict[str, Any]
    complete: bool
    late: bool
    submitted_at: datetime


class MyCheckinsOut(msgspec.Struct):
    due: list[DueCheckinOut]
    submitted: list[CheckinOut]


class SymptomIn(StrictBody):
    code: str
    severity: Literal["mild", "moderate", "severe"]
    temperature_c: Temperature | None = None


ReportKey = Annotated[
    CheckinKey | None,
    Meta(description="the due check-in answered; omit it to report at any time, unasked"),
]


ClientSubmissionId = Annotated[
    str,
    Meta(
        pattern="^[A-Za-z0-9-]{8,64}$",
        description=(
            "made by the app when the answer is given (a UUID); a report sent again with "
            "the same id, even much later (an offline queue), is the same check-in"
        ),
    ),
]


class SymptomsCheckinIn(StrictBody):
    symptoms: Annotated[list[SymptomIn], Meta(max_length=32, description="[] for none")]
    checkin_key: ReportKey = None
    client_submission_id: ClientSubmissionId | None = None


class PregnancyCheckinIn(StrictBody):
    pregnant: bool
    checkin_key: ReportKey = None
    client_submission_id: ClientSubmissionId | None = None


class CheckinResultOut(msgspec.Struct):
    checkin: CheckinOut
    alert_raised: bool
    advice_key: str | None
    advice: str | None


class SymptomChoiceOut(msgspec.Struct):
    code: str
    number: int  # what the participant would type by SMS
    label: str
    emergency: bool  # the advice is to call 131 (SAMU) at once
    red_flag: bool  # the team is alerted whatever the severity
    asks_temperature: bool


class SeverityOut(msgspec.Struct):
    code: str
    label: str


class TemperatureRuleOut(msgspec.Struct):
    threshold_c: Annotated[float, Meta(description="a temperature at or above it alerts")]


class QuestionnairesOut(msgspec.Struct):
    symptoms: list[SymptomChoiceOut]
    severities: list[SeverityOut]
    temperature: TemperatureRuleOut
    pregnancy: Annotated[bool, Meta(description="whether the pregnancy question applies")]


class PreferencesIn(StrictBody):
    """A full replacement (PUT): send all three; ``preferred_time`` null = protocol hours.

    ``channel`` (``sms`` or ``whatsapp``; omitted: unchanged). WhatsApp needs the
    participant's opt-in once: ``whatsapp_opt_in`` true says they agree, now, to the
    statement ``whatsapp_opt_in_text`` of the GET."""

    language: str
    preferred_time: str | None
    paused: bool
    channel: str | None = None
    whatsapp_opt_in: bool = False


class PreferencesOut(msgspec.Struct):
    language: str
    preferred_time: str | None
    paused: bool
    channel: str
    whatsapp_opt_in_at: datetime | None
    whatsapp_opt_in_text: str  # the statement to show before the participant agrees
