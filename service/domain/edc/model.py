"""The EDC mapping's vocabulary: fields, instruments, events, the whole mapping.

One set of plain, immutable types describes what the feed sends, and every output is
derived from it: the REDCap data dictionary and longitudinal tables, the REDCap rows
of the push, the ODM 1.3.2 metadata and clinical data. Deriving all of them from one
description is what keeps the metadata's OIDs covering every OID the data uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Choice",
    "EdcEvent",
    "EdcField",
    "EdcMapping",
    "FieldType",
    "Instrument",
    "Validation",
]


class FieldType(StrEnum):
    """REDCap field types the feed uses."""

    TEXT = "text"
    NOTES = "notes"
    RADIO = "radio"
    DROPDOWN = "dropdown"
    YESNO = "yesno"


class Validation(StrEnum):
    """REDCap text validation types (``text_validation_type_or_show_slider_number``)."""

    NONE = ""
    DATE = "date_ymd"
    DATETIME = "datetime_ymd"
    NUMBER = "number"
    INTEGER = "integer"


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    label: str


YES_NO: tuple[Choice, ...] = (Choice("1", "Sí"), Choice("0", "No"))


@dataclass(frozen=True, slots=True)
class EdcField:
    """One REDCap field and ODM item.

    ``sds_var`` names the SDTM variable the value feeds (ODM ``ItemDef/@SDSVarName``),
    so the data manager's mapping to QS/CE/FACE/RP/SV is written down once, here.
    """

    name: str
    form: str
    field_type: FieldType
    label: str
    choices: tuple[Choice, ...] = ()
    validation: Validation = Validation.NONE
    minimum: str = ""
    maximum: str = ""
    note: str = ""
    annotation: str = "@READONLY"
    section_header: str = ""
    sds_var: str = ""

    @property
    def effective_choices(self) -> tuple[Choice, ...]:
        return YES_NO if self.field_type is FieldType.YESNO else self.choices

    @property
    def odm_data_type(self) -> str:
        if self.effective_choices:
            codes = [c.code for c in self.effective_choices]
            return "integer" if all(c.lstrip("-").isdigit() for c in codes) else "text"
        return {
            Validation.DATE: "date",
            Validation.DATETIME: "datetime",
            Validation.NUMBER: "float",
            Validation.INTEGER: "integer",
        }.get(self.validation, "text")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A REDCap instrument (ODM FormDef with one ItemGroupDef)."""

    name: str
    label: str
    fields: tuple[EdcField, ...]
    repeating: bool = False
    custom_label: str = ""  # REDCap's custom repeating-instance label


@dataclass(frozen=True, slots=True)
class EdcEvent:
    """A REDCap event (ODM StudyEventDef); ``visit_code`` is None for the ePRO event."""

    label: str
    unique_name: str
    visit_code: str | None
    day_offset: int
    offset_min: int
    offset_max: int
    forms: tuple[str, ...]
    arm: int = 1


@dataclass(frozen=True, slots=True)
class EdcMapping:
    """Everything the feed sends, for one protocol revision."""

    study_code: str
    study_name: str
    record_field: str
    instruments: tuple[Instrument, ...]
    events: tuple[EdcEvent, ...]
    site_groups: tuple[tuple[str, str], ...]  # (site code, REDCap DAG unique name)

    def instrument(self, name: str) -> Instrument:
        for instrument in self.instruments:
            if instrument.name == name:
                return instrument
        raise KeyError(name)

    def event_for_visit(self, visit_code: str) -> EdcEvent:
        for event in self.events:
            if event.visit_code == visit_code:
                return event
        raise KeyError(visit_code)

    @property
    def pro_event(self) -> EdcEvent:
        return next(e for e in self.events if e.visit_code is None)

    def fields(self) -> list[EdcField]:
        return [f for i in self.instruments for f in i.fields]

    def dag_for_site(self, site_code: str) -> str:
        return dict(self.site_groups)[site_code]
