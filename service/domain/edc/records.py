"""Records in, EDC entries out: one function per kind of record, shared by REDCap and ODM.

The db layer hands in plain facts (a check-in version, a visit outcome with its
calendar window, an infusion, a contact-log line) plus where the feed put them
(instance, Insert or Update). Each becomes an :class:`Entry`: the event, form and
instance it fills and typed values per field. The REDCap push and the ODM export only
format entries differently, so both always say the same thing.

An answer the mapping cannot place (a symptom code the protocol no longer lists, a
visit code without an event) raises :class:`EdcMappingError`; it is never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias
from zoneinfo import ZoneInfo

from service.domain.edc.forms import (
    BY_MESSAGE,
    CHANNEL_CODES,
    DIRECTION_CODES,
    SEVERITY_CODES,
    SEVERITY_UNRATED,
    VISIT_STATUS_CODES,
    symptom_field,
)
from service.domain.edc.model import EdcMapping
from service.domain.edc.naming import EdcMappingError

__all__ = [
    "CheckinFact",
    "ContactFact",
    "Entry",
    "Fact",
    "InfusionFact",
    "Placement",
    "TransactionType",
    "VisitFact",
    "entry_for",
    "mask_numbers",
]

Value: TypeAlias = str | int | float | bool | date | datetime | None
Day: TypeAlias = date  # for dataclasses that have a field named "date"
SYSTEM_USER: Final = "system"
# Seven or more digits, maybe split by spaces, dots, dashes or brackets: a phone
# number in any form ("+56 9 6123 4567", "961234567"), never a temperature.
_NUMBER_LIKE: Final = re.compile(r"\+?\d(?:[\s.\-()]*\d){6,}")


class TransactionType(StrEnum):
    INSERT = "Insert"
    UPDATE = "Update"


def mask_numbers(text: str) -> str:
    """Raw text for the EDC with every phone-like digit run replaced."""
    return _NUMBER_LIKE.sub("[número]", text)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the feed put a record: assigned once, when the record was sequenced."""

    seq: int
    study_id: str
    site: str
    timezone: str
    instance: int
    transaction: TransactionType


@dataclass(frozen=True, slots=True)
class CheckinFact:
    questionnaire: str  # symptoms | pregnancy
    checkin_key: str
    version: int
    channel: str  # sms | app
    answers: Mapping[str, Any]
    complete: bool
    late: bool
    submitted_at: datetime
    source_id: str
    raw_texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VisitFact:
    visit_code: str
    status: str  # attended | missed
    date: Day
    target_date: Day
    window_start: Day
    window_end: Day
    recorded_by: str
    recorded_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class InfusionFact:
    visit_code: str
    number: int
    date: Day
    planned_date: Day
    recorded_by: str
    recorded_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class ContactFact:
    direction: str  # outbound | inbound
    kind: str
    purpose: str
    status: str
    at: datetime
    source_id: str | None


Fact: TypeAlias = CheckinFact | VisitFact | InfusionFact | ContactFact


@dataclass(frozen=True, slots=True)
class Entry:
    """One record's worth of EDC data, with the audit facts of where it came from."""

    placement: Placement
    event: str  # unique event name
    form: str
    repeating: bool
    values: tuple[tuple[str, Value], ...]
    user: str  # "participant", "system" or a staff label such as "staff:ana@uandes.cl"
    recorded_at: datetime
    # AuditRecord/SourceID: the Twilio MessageSid, the app submission, the staff entry
    source_id: str
    reason: str | None  # ReasonForChange, for corrections

    @property
    def instance(self) -> int | None:
        return self.placement.instance if self.repeating else None


def _local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def _provenance(prefix: str, fact: CheckinFact, where: Placement) -> list[tuple[str, Value]]:
    return [
        (f"{prefix}_checkin_key", fact.checkin_key),
        (f"{prefix}_version", fact.version),
        (f"{prefix}_channel", CHANNEL_CODES[fact.channel]),
        (f"{prefix}_received_utc", fact.submitted_at),
        (f"{prefix}_received_local", _local(fact.submitted_at, where.timezone)),
        (f"{prefix}_source_id", fact.source_id),
        (f"{prefix}_late", fact.late),
    ]


def _symptom_values(
    mapping: EdcMapping, fact: CheckinFact, where: Placement
) -> list[tuple[str, Value]]:
    form = mapping.instrument("sintomas")
    names = {f.name for f in form.fields}
    reported = list(fact.answers.get("symptoms") or [])
    values: list[tuple[str, Value]] = [*_provenance("ce", fact, where)]
    values.append(("ce_any", bool(reported)))
    values.append(("ce_all_rated", fact.complete and all(s.get("severity") for s in reported)))
    by_stem = {symptom_field(str(s.get("code"))): s for s in reported}
    unknown = sorted(
        str(s.get("code"))
        for s in reported
        if f"{symptom_field(str(s.get('code')))}_sev" not in names
    )
    if unknown:
        raise EdcMappingError(
            f"check-in {fact.checkin_key} v{fact.version} of {where.study_id}: symptom(s) "
            f"{', '.join(unknown)} have no EDC field (not in the protocol file)"
        )
    for field in form.fields:
        if not (field.name.startswith("ce_") and field.name.endswith("_sev")):
            continue
        stem = field.name[:-4]
        answer = by_stem.get(stem)
        if answer is None:
            values.append((field.name, SEVERITY_CODES["absent"] if fact.complete else None))
            continue
        severity = answer.get("severity")
        values.append((field.name, SEVERITY_CODES[severity] if severity else SEVERITY_UNRATED))
        if f"{stem}_temp" in names:
            values.append((f"{stem}_temp", answer.get("temperature_c")))
    if "ce_raw_text" in names and fact.channel in BY_MESSAGE:
        values.append(("ce_raw_text", mask_numbers("\n".join(fact.raw_texts)) or None))
    return values


def _checkin(mapping: EdcMapping, fact: CheckinFact, where: Placement) -> Entry:
    if fact.questionnaire == "symptoms":
        form, values = "sintomas", _symptom_values(mapping, fact, where)
    elif fact.questionnaire == "pregnancy":
        form = "embarazo"
        values = [*_provenance("rp", fact, where), ("rp_pregnant", fact.answers.get("pregnant"))]
        names = {f.name for f in mapping.instrument(form).fields}
        if "rp_raw_text" in names and fact.channel in BY_MESSAGE:
            values.append(("rp_raw_text", mask_numbers("\n".join(fact.raw_texts)) or None))
    else:
        raise EdcMappingError(f"questionnaire {fact.questionnaire!r} has no EDC instrument")
    correction = fact.version > 1
    return Entry(
        placement=where,
        event=mapping.pro_event.unique_name,
        form=form,
        repeating=True,
        values=tuple(values),
        user="participant",
        recorded_at=fact.submitted_at,
        source_id=fact.source_id,
        reason=f"Corrección del participante (versión {fact.version})" if correction else None,
    )


def _event(mapping: EdcMapping, visit_code: str) -> str:
    try:
        return mapping.event_for_visit(visit_code).unique_name
    except KeyError:
        raise EdcMappingError(f"visit {visit_code!r} has no EDC event") from None


def _staff_entry(
    mapping: EdcMapping,
    fact: VisitFact | InfusionFact,
    where: Placement,
    form: str,
    values: list[tuple[str, Value]],
) -> Entry:
    reason = f"Corrección registrada por el equipo (versión {fact.version})"
    return Entry(
        placement=where,
        event=_event(mapping, fact.visit_code),
        form=form,
        repeating=False,
        values=tuple(values),
        user=fact.recorded_by,
        recorded_at=fact.recorded_at,
        # Where a staff entry came from: the service's own record of it, by version.
        source_id=f"staff-entry:{form}:{where.study_id}:{fact.visit_code}:v{fact.version}",
        reason=reason if fact.version > 1 else None,
    )


def entry_for(mapping: EdcMapping, fact: Fact, where: Placement) -> Entry:
    """The EDC entry of one record; raises :class:`EdcMappingError` if it has no place."""
    if isinstance(fact, CheckinFact):
        return _checkin(mapping, fact, where)
    if isinstance(fact, VisitFact):
        in_window = fact.window_start <= fact.date <= fact.window_end
        values: list[tuple[str, Value]] = [
            ("sv_status", VISIT_STATUS_CODES[fact.status]),
            ("sv_date", fact.date),
            ("sv_target_date", fact.target_date),
            ("sv_window_start", fact.window_start),
            ("sv_window_end", fact.window_end),
            ("sv_in_window", in_window if fact.status == "attended" else None),
        ]
        return _staff_entry(mapping, fact, where, "visita", values)
    if isinstance(fact, InfusionFact):
        values = [
            ("ex_number", fact.number),
            ("ex_date", fact.date),
            ("ex_planned_date", fact.planned_date),
            ("ex_delay_days", (fact.date - fact.planned_date).days),
        ]
        return _staff_entry(mapping, fact, where, "infusion", values)
    values = [
        ("cl_direction", DIRECTION_CODES[fact.direction]),
        ("cl_kind", fact.kind),
        ("cl_purpose", fact.purpose),
        ("cl_status", fact.status),
        ("cl_at_utc", fact.at),
        ("cl_at_local", _local(fact.at, where.timezone)),
        ("cl_source_id", fact.source_id),
    ]
    # A message the provider never took has no provider id: the feed's change number.
    source = fact.source_id or f"edc-change:{where.seq}"
    return Entry(where, mapping.pro_event.unique_name, "contactos", True, tuple(values),
                 SYSTEM_USER if fact.direction == "outbound" else "participant", fact.at,
                 source, None)  # fmt: skip
