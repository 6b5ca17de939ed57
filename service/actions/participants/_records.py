"""Participants and sites as the pages, the API and the app read them: plain values,
not model rows. Nothing in this module writes, and nothing it returns can be saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from service.db.models import Participant, Site

__all__ = [
    "ParticipantProfile",
    "ParticipantRecord",
    "SiteRecord",
    "participant_profile",
    "participant_record",
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
class ParticipantProfile:
    """A participant as they see themselves in the app (never the treatment arm)."""

    study_id: str
    site: str
    language: str
    timezone: str
    preferred_time: str | None
    paused: bool
    sms_consent: bool
    status: str
    baseline_infusion_date: date
    second_infusion_date: date | None
    channel: str = "sms"
    whatsapp_opt_in_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WhatsAppOptIn:
    """The participant's agreement to WhatsApp: when, how, who recorded it, and the
    statement they agreed to."""

    method: str
    at: datetime
    recorded_by: str
    text: str


def whatsapp_opt_in(p: Participant) -> WhatsAppOptIn | None:
    if p.whatsapp_opt_in_at is None:
        return None
    return WhatsAppOptIn(
        method=p.whatsapp_opt_in_method or "",
        at=p.whatsapp_opt_in_at,
        recorded_by=p.whatsapp_opt_in_by or "",
        text=p.whatsapp_opt_in_text or "",
    )


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A participant as study staff read them through the API."""

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
    channel: str = "sms"
    whatsapp_opt_in: WhatsAppOptIn | None = None


def participant_record(p: Participant) -> ParticipantRecord:
    return ParticipantRecord(
        study_id=p.study_id,
        site=p.site_id,
        phone=p.phone,
        language=p.language,
        timezone=p.timezone,
        can_become_pregnant=p.can_become_pregnant,
        baseline_infusion_date=p.baseline_infusion_date,
        second_infusion_date=p.second_infusion_date,
        sms_consent=p.sms_consent,
        preferred_time=p.preferred_time,
        status=p.status,
        paused=p.paused,
        opted_out=p.opted_out,
        sms_blocked_code=p.sms_blocked_code,
        withdrawn_at=p.withdrawn_at,
        created_at=p.created_at,
        channel=p.channel,
        whatsapp_opt_in=whatsapp_opt_in(p),
    )


def participant_profile(participant: Participant) -> ParticipantProfile:
    return ParticipantProfile(
        study_id=participant.study_id,
        site=participant.site_id,
        language=participant.language,
        timezone=participant.timezone,
        preferred_time=participant.preferred_time,
        paused=participant.paused,
        sms_consent=participant.sms_consent,
        status=participant.status,
        baseline_infusion_date=participant.baseline_infusion_date,
        second_infusion_date=participant.second_infusion_date,
        channel=participant.channel,
        whatsapp_opt_in_at=participant.whatsapp_opt_in_at,
    )


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


async def study_ids(participant_ids: Iterable[int]) -> dict[int, str]:
    """Participant id -> study id, for the given ids."""
    rows = await Participant.filter(id__in=list(set(participant_ids))).values_list("id", "study_id")
    return {int(pid): str(study_id) for pid, study_id in rows}
