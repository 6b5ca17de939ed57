"""Enrolment and the changes staff make to a participant: one transaction each.

Every function validates first, then writes the change and its audit entry inside a
single transaction, so a refusal leaves nothing behind and a success always has its
"who, when, what, why" on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.actions.access import participant_for, revoke_sessions
from service.actions.calendars import local_today
from service.actions.errors import Conflict, FieldInvalid, Forbidden, NotFound
from service.actions.outbox import replan_participant
from service.actions.participants._channel import CHANNEL_AUDITED, OptIn, channel_changes
from service.adapters.phones import InvalidPhone, normalize_mobile
from service.db.audit import audit, diff
from service.db.models import Infusion, Participant, Site, VisitOutcome
from service.domain import enrollment as rules
from service.domain.actors import Actor
from service.domain.calendar import RecordedOutcome
from service.domain.languages import LANGUAGES
from service.domain.protocol import RecordedEvent
from service.domain.states import AuditAction, ParticipantStatus, SessionEnd
from service.runtime import Runtime

_AUDITED = (
    "phone",
    "language",
    "timezone",
    "can_become_pregnant",
    "sms_consent",
    "preferred_time",
    "paused",
    *CHANNEL_AUDITED,
)


@dataclass(frozen=True, slots=True)
class EnrollmentRequest:
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
    whatsapp_opt_in: OptIn | None = None


def _require_writer(actor: Actor) -> None:
    if not actor.can_write:
        raise Forbidden("this role may read but not change participants")


def _phone(raw: str) -> str:
    try:
        return normalize_mobile(raw)
    except InvalidPhone as exc:
        raise FieldInvalid(f"phone {exc}", field="phone") from None


def _timezone(value: str) -> str:
    # ZoneInfo turns a name into a file path: a long one raises OSError (name too
    # long), so anything longer than the column is refused before it gets there.
    if len(value) > 64:
        raise FieldInvalid("timezone is longer than 64 characters", field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FieldInvalid(
            f"timezone {value!r} is not an IANA time zone", field="timezone"
        ) from None
    return value


def _checked_optional(field: str, value: Any) -> None:
    if field == "language" and value not in LANGUAGES:
        raise FieldInvalid(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    if field == "preferred_time" and value is not None:
        problem = rules.preferred_time_problem(value)
        if problem:
            raise FieldInvalid(f"preferred_time {problem}", field="preferred_time")


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {name for name, value in after.items() if before.get(name) != value}


def _snapshot(p: Participant) -> dict[str, Any]:
    return {name: getattr(p, name) for name in _AUDITED}


async def enroll(rt: Runtime, actor: Actor, req: EnrollmentRequest) -> Participant:
    _require_writer(actor)
    now = rt.clock.now()
    study_id = req.study_id.strip()
    if not study_id or len(study_id) > 32 or not study_id.replace("-", "").isalnum():
        raise FieldInvalid("study_id must be 1-32 letters, digits or dashes", field="study_id")
    try:
        site_def = rt.protocol.site(req.site)
    except KeyError:
        raise FieldInvalid(f"site {req.site!r} is not in the protocol file", field="site") from None
    if not actor.can_see_site(site_def.code):
        raise Forbidden("you may not enrol participants at this site")
    phone = _phone(req.phone)
    tz = _timezone(req.timezone or site_def.timezone)
    for name in ("language", "preferred_time"):
        _checked_optional(name, getattr(req, name))
    problem = rules.baseline_problem(
        req.baseline_infusion_date, now.astimezone(ZoneInfo(tz)).date()
    )
    if problem:
        raise FieldInvalid(f"baseline_infusion_date {problem}", field="baseline_infusion_date")
    channel = channel_changes(
        rt, actor, channel=req.channel, opt_in=req.whatsapp_opt_in, language=req.language
    )
    if await Participant.filter(study_id=study_id).exists():
        raise Conflict(f"study_id {study_id!r} is already enrolled", field="study_id")
    if await Participant.filter(phone=phone).exists():
        raise Conflict("phone is already registered to another participant", field="phone")
    try:
        async with in_transaction():
            site = await Site.get(code=site_def.code)
            participant = await Participant.create(
                study_id=study_id,
                site=site,
                phone=phone,
                language=req.language,
                timezone=tz,
                can_become_pregnant=req.can_become_pregnant,
                baseline_infusion_date=req.baseline_infusion_date,
                sms_consent=req.sms_consent,
                preferred_time=req.preferred_time,
                created_at=now,  # the action's clock, not the database's (time is an input)
                **channel,
            )
            await audit(
                at=now,
                actor=actor.label,
                action=AuditAction.PARTICIPANT_ENROLL,
                entity="participant",
                entity_id=study_id,
                changes={
                    "site": site.code,
                    "baseline_infusion_date": req.baseline_infusion_date,
                    **_snapshot(participant),
                    "phone": "(set)",
                },
            )
            await replan_participant(rt, participant, actor=actor)
    except IntegrityError:
        raise Conflict(f"study_id {study_id!r} is already enrolled", field="study_id") from None
    return participant


async def update_participant(
    rt: Runtime, actor: Actor, study_id: str, changes: dict[str, Any], reason: str | None = None
) -> Participant:
    _require_writer(actor)
    participant = await participant_for(actor, study_id)
    if not participant.active:
        raise Conflict("participant has withdrawn; details can no longer change", field="study_id")
    clean: dict[str, Any] = {}
    changes = dict(changes)
    channel, opt_in = changes.pop("channel", None), changes.pop("whatsapp_opt_in", None)
    for name, value in changes.items():
        if name == "phone":
            value = _phone(value)
            clash = await Participant.filter(phone=value).exclude(id=participant.id).exists()
            if clash:
                raise Conflict("phone is already registered to another participant", field="phone")
        elif name == "timezone":
            value = _timezone(value)
        else:
            _checked_optional(name, value)
        clean[name] = value
    if channel is not None or opt_in is not None:
        language = clean.get("language", participant.language)
        clean |= channel_changes(
            rt, actor, channel=channel, opt_in=opt_in, language=language, current=participant
        )
    before = _snapshot(participant)
    async with in_transaction():
        for name, value in clean.items():
            setattr(participant, name, value)
        if "phone" in changed_fields(before, clean) and participant.sms_blocked_code is not None:
            participant.sms_blocked_code = None  # the blocked number is gone; try the new one
        # The fields changed, never ``plan_version`` (its re-plan's bump below).
        await participant.save(update_fields=[*clean, "sms_blocked_code", "updated_at"])
        changed = diff(before, _snapshot(participant))
        if "phone" in changed:
            changed["phone"] = ["(old)", "(new)"]
            await revoke_sessions(
                rt, participant, reason=SessionEnd.PHONE_CHANGE, actor_label=actor.label
            )
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.PARTICIPANT_UPDATE,
            entity="participant",
            entity_id=participant.study_id,
            changes=changed,
            reason=reason,
        )
        await replan_participant(rt, participant, actor=actor)
    return participant


async def record_infusion(
    rt: Runtime, actor: Actor, study_id: str, number: int, when: date, reason: str | None = None
) -> Participant:
    _require_writer(actor)
    participant = await participant_for(actor, study_id)
    if number not in (1, 2):
        raise FieldInvalid("number must be 1 (baseline) or 2 (month 6)", field="number")
    today = local_today(rt, participant)
    problem = rules.infusion_problem(number, when, participant.baseline_infusion_date, today)
    if problem:
        raise FieldInvalid(f"date {problem}", field="date")
    if (
        number == 1
        and participant.second_infusion_date
        and when >= participant.second_infusion_date
    ):
        raise FieldInvalid("date must be before the recorded second infusion", field="date")
    field = "baseline_infusion_date" if number == 1 else "second_infusion_date"
    now = rt.clock.now()  # one moment for the act: the calendar replays it as one change
    async with in_transaction():
        previous = getattr(participant, field)
        await Infusion.create(
            participant=participant,
            number=number,
            date=when,
            recorded_by=actor.label,
            recorded_at=now,
        )
        setattr(participant, field, when)
        await participant.save(update_fields=[field, "updated_at"])
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.INFUSION_RECORD,
            entity="participant",
            entity_id=participant.study_id,
            changes={"number": number, field: [previous, when]},
            reason=reason,
        )
        await _attend_visit_of(rt, actor, participant, RecordedEvent.infusion(number), when, now)
        await replan_participant(rt, participant, actor=actor)
    return participant


async def _attend_visit_of(
    rt: Runtime,
    actor: Actor,
    participant: Participant,
    event: RecordedEvent,
    when: date,
    now: datetime,
) -> None:
    """One entry per fact: the visit the protocol ties to ``event`` is attended on its
    date, recorded and audited as the same person's act, so every reader (pages, API,
    app calendar, .ics, EDC) agrees without a second, separate entry."""
    visit = rt.protocol.visit_attended_on(event)
    if visit is None:
        return
    await VisitOutcome.create(
        participant=participant,
        visit_code=visit.code,
        status=RecordedOutcome.ATTENDED,
        date=when,
        source=event.value,
        recorded_by=actor.label,
        recorded_at=now,
    )
    await audit(
        at=now,
        actor=actor.label,
        action=AuditAction.VISIT_RECORD,
        entity="participant",
        entity_id=participant.study_id,
        changes={
            "visit": visit.code,
            "status": RecordedOutcome.ATTENDED,
            "date": when,
            "recorded_with": event.value,
        },
    )


async def record_visit_outcome(
    rt: Runtime,
    actor: Actor,
    study_id: str,
    visit_code: str,
    status: str,
    when: date,
    reason: str | None = None,
) -> VisitOutcome:
    _require_writer(actor)
    participant = await participant_for(actor, study_id)
    try:
        rt.protocol.visit(visit_code)
    except KeyError:
        raise NotFound(f"visit {visit_code!r} is not in the protocol") from None
    if status not in tuple(RecordedOutcome):
        raise FieldInvalid("status must be attended or missed", field="status")
    problem = rules.visit_date_problem(
        when, participant.baseline_infusion_date, local_today(rt, participant)
    )
    if problem:
        raise FieldInvalid(f"date {problem}", field="date")
    async with in_transaction():
        outcome = await VisitOutcome.create(
            participant=participant,
            visit_code=visit_code,
            status=status,
            date=when,
            recorded_by=actor.label,
            recorded_at=rt.clock.now(),
        )
        await audit(
            at=rt.clock.now(),
            actor=actor.label,
            action=AuditAction.VISIT_RECORD,
            entity="participant",
            entity_id=participant.study_id,
            changes={"visit": visit_code, "status": status, "date": when},
            reason=reason,
        )
        await replan_participant(rt, participant, actor=actor)
    return outcome


async def withdraw(rt: Runtime, actor: Actor, study_id: str, reason: str | None) -> Participant:
    _require_writer(actor)
    participant = await participant_for(actor, study_id)
    if not participant.active:
        return participant
    now = rt.clock.now()
    async with in_transaction():
        participant.status = ParticipantStatus.WITHDRAWN
        participant.withdrawn_at = now
        await participant.save(update_fields=["status", "withdrawn_at", "updated_at"])
        await audit(
            at=now,
            actor=actor.label,
            action=AuditAction.PARTICIPANT_WITHDRAW,
            entity="participant",
            entity_id=participant.study_id,
            changes={"status": [ParticipantStatus.ACTIVE, ParticipantStatus.WITHDRAWN]},
            reason=reason,
        )
        await revoke_sessions(rt, participant, reason=SessionEnd.WITHDRAWN, actor_label=actor.label)
        await replan_participant(rt, participant, actor=actor)
    return participant
