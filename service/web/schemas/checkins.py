"""Check-in records as staff read them (every channel, every version).

The participant's own check-in bodies are in ``mobile`` (a different audience).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


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
