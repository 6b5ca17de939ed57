"""Stored check-ins as the pages, the API and the app read them: plain values, not
model rows. Nothing in this module writes, and nothing it returns can be saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.db.models import Alert, Checkin
from service.domain.versions import newest_per_key

__all__ = [
    "CheckinRecord",
    "CheckinVersion",
    "checkin_record",
    "checkin_records",
    "checkin_version",
    "latest_checkins",
]


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    """One stored check-in version with the alerts it raised (ids, ascending)."""

    id: int
    checkin_key: str
    questionnaire: str
    channel: str
    version: int
    late: bool
    complete: bool
    answers: dict[str, Any]
    raw_texts: list[str]
    submitted_at: datetime
    alert_ids: list[int]


@dataclass(frozen=True, slots=True)
class CheckinVersion:
    """A check-in version as its participant sees it."""

    checkin_key: str
    questionnaire: str
    channel: str
    version: int
    answers: dict[str, Any]
    complete: bool
    late: bool
    submitted_at: datetime


async def latest_checkins(participant_id: int) -> list[CheckinVersion]:
    """The newest version of each of a participant's check-ins, newest first."""
    rows = await Checkin.filter(participant_id=participant_id).order_by("-submitted_at", "-id")
    return [checkin_version(row) for row in newest_per_key(rows, key=lambda row: row.checkin_key)]


def checkin_version(row: Checkin) -> CheckinVersion:
    """One stored check-in version as its participant sees it."""
    return CheckinVersion(
        checkin_key=row.checkin_key,
        questionnaire=row.questionnaire,
        channel=row.channel,
        version=row.version,
        answers=row.answers,
        complete=row.complete,
        late=row.late,
        submitted_at=row.submitted_at,
    )


async def checkin_records(participant_id: int) -> list[CheckinRecord]:
    """Every check-in version of a participant, newest first, with its alert ids."""
    rows = await Checkin.filter(participant_id=participant_id).order_by("-submitted_at", "-id")
    raised: dict[int, list[int]] = {}
    pairs = await Alert.filter(checkin_id__in=[r.id for r in rows]).values_list("checkin_id", "id")
    for checkin_id, alert_id in pairs:
        raised.setdefault(int(checkin_id), []).append(int(alert_id))
    return [checkin_record(row, sorted(raised.get(row.id, []))) for row in rows]


def checkin_record(row: Checkin, alert_ids: list[int]) -> CheckinRecord:
    """One stored check-in version as the web layer reads it."""
    return CheckinRecord(
        id=row.id,
        checkin_key=row.checkin_key,
        questionnaire=row.questionnaire,
        channel=row.channel,
        version=row.version,
        late=row.late,
        complete=row.complete,
        answers=row.answers,
        raw_texts=list(row.raw_texts),
        submitted_at=row.submitted_at,
        alert_ids=alert_ids,
    )
