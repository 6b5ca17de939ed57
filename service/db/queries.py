"""Read-only queries the web layer needs, returning plain values, not model rows.

Controllers stay free of Tortoise: they ask here (or an action) and present what comes
back. Nothing in this module writes, and nothing it returns can be saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.db.models import Alert, Checkin, OutboundMessage, Participant, Site
from service.domain.states import MessageStatus
from service.domain.versions import newest_per_key

__all__ = [
    "CheckinRecord",
    "CheckinVersion",
    "SiteRecord",
    "checkin_records",
    "latest_checkins",
    "oldest_due_unsent",
    "site_record",
    "sites_by_code",
    "study_ids",
]


@dataclass(frozen=True, slots=True)
class SiteRecord:
    code: str
    name: str
    timezone: str
    help_line: str
    on_call_primary: str | None
    on_call_backup: str | None


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


def _site_record(site: Site) -> SiteRecord:
    return SiteRecord(
        code=site.code,
        name=site.name,
        timezone=site.timezone,
        help_line=site.help_line,
        on_call_primary=site.on_call_primary,
        on_call_backup=site.on_call_backup,
    )


async def sites_by_code() -> list[SiteRecord]:
    """Every site, in code order."""
    return [_site_record(site) for site in await Site.all().order_by("code")]


async def site_record(code: str) -> SiteRecord:
    """One site by code (it exists: every participant's site is synced at start-up)."""
    return _site_record(await Site.get(code=code))


async def latest_checkins(participant_id: int) -> list[CheckinVersion]:
    """The newest version of each of a participant's check-ins, newest first."""
    rows = await Checkin.filter(participant_id=participant_id).order_by("-submitted_at", "-id")
    return [
        CheckinVersion(
            checkin_key=row.checkin_key,
            questionnaire=row.questionnaire,
            channel=row.channel,
            version=row.version,
            answers=row.answers,
            complete=row.complete,
            late=row.late,
            submitted_at=row.submitted_at,
        )
        for row in newest_per_key(rows, key=lambda row: row.checkin_key)
    ]


async def oldest_due_unsent(due_before: datetime) -> datetime | None:
    """When the oldest still-planned message due before ``due_before`` was due."""
    oldest = (
        await OutboundMessage.filter(status=MessageStatus.PLANNED, send_at__lte=due_before)
        .order_by("send_at")
        .first()
        .values_list("send_at", flat=True)
    )
    return oldest if isinstance(oldest, datetime) else None


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


async def study_ids(participant_ids: Iterable[int]) -> dict[int, str]:
    """Participant id -> study id, for the given ids."""
    rows = await Participant.filter(id__in=list(set(participant_ids))).values_list("id", "study_id")
    return {int(pid): str(study_id) for pid, study_id in rows}
