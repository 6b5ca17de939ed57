"""The REDCap project set-up files, generated from the mapping.

A REDCap administrator builds the project by uploading these (docs/edc.md, "Setting
up the REDCap project"), so they follow REDCap's own column layouts exactly: the data dictionary's
18 columns in REDCap's order, and the API layouts of ``content=event``,
``content=formEventMapping`` and ``content=repeatingFormsEvents``. The same rows are
what the push compares with REDCap's metadata before its first write.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Final

from service.domain.edc.model import EdcField, EdcMapping

__all__ = [
    "DATA_DICTIONARY_COLUMNS",
    "EVENT_COLUMNS",
    "MAPPING_COLUMNS",
    "REPEATING_COLUMNS",
    "data_dictionary_rows",
    "event_rows",
    "instrument_event_rows",
    "repeating_rows",
    "setup_files",
    "to_csv",
]

DATA_DICTIONARY_COLUMNS: Final = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
EVENT_COLUMNS: Final = (
    "event_name",
    "arm_num",
    "unique_event_name",
    "day_offset",
    "offset_min",
    "offset_max",
)
MAPPING_COLUMNS: Final = ("arm_num", "unique_event_name", "form")
REPEATING_COLUMNS: Final = ("event_name", "form_name", "custom_form_label")

Row = dict[str, str]


def _choices(field: EdcField) -> str:
    # yesno fields carry their choices implicitly in REDCap; the column stays empty.
    if field.field_type == "yesno":
        return ""
    return " | ".join(f"{c.code}, {c.label}" for c in field.choices)


def data_dictionary_rows(mapping: EdcMapping) -> list[Row]:
    """One row per field; ``record_id`` first, as REDCap requires."""
    rows = []
    for field in mapping.fields():
        rows.append(
            {
                "field_name": field.name,
                "form_name": field.form,
                "section_header": field.section_header,
                "field_type": field.field_type.value,
                "field_label": field.label,
                "select_choices_or_calculations": _choices(field),
                "field_note": field.note,
                "text_validation_type_or_show_slider_number": field.validation.value,
                "text_validation_min": field.minimum,
                "text_validation_max": field.maximum,
                "identifier": "",
                "branching_logic": "",
                "required_field": "",
                "custom_alignment": "",
                "question_number": "",
                "matrix_group_name": "",
                "matrix_ranking": "",
                "field_annotation": field.annotation,
            }
        )
    return rows


def event_rows(mapping: EdcMapping) -> list[Row]:
    return [
        {
            "event_name": e.label,
            "arm_num": str(e.arm),
            "unique_event_name": e.unique_name,
            "day_offset": str(e.day_offset),
            "offset_min": str(e.offset_min),
            "offset_max": str(e.offset_max),
        }
        for e in mapping.events
    ]


def instrument_event_rows(mapping: EdcMapping) -> list[Row]:
    return [
        {"arm_num": str(e.arm), "unique_event_name": e.unique_name, "form": form}
        for e in mapping.events
        for form in e.forms
    ]


def repeating_rows(mapping: EdcMapping) -> list[Row]:
    """Repeating instruments per event (``event_name`` holds the *unique* name, as in
    REDCap's ``content=repeatingFormsEvents``)."""
    by_name = {i.name: i for i in mapping.instruments}
    return [
        {
            "event_name": e.unique_name,
            "form_name": form,
            "custom_form_label": by_name[form].custom_label,
        }
        for e in mapping.events
        for form in e.forms
        if by_name[form].repeating
    ]


def to_csv(columns: Sequence[str], rows: Iterable[Row]) -> str:
    """CSV as REDCap reads it: header row, every value quoted only when needed, CRLF."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def setup_files(mapping: EdcMapping) -> dict[str, str]:
    """File name -> CSV text, the names the routes and ``edc redcap-setup`` use."""
    return {
        "data-dictionary.csv": to_csv(DATA_DICTIONARY_COLUMNS, data_dictionary_rows(mapping)),
        "events.csv": to_csv(EVENT_COLUMNS, event_rows(mapping)),
        "instrument-event-mappings.csv": to_csv(MAPPING_COLUMNS, instrument_event_rows(mapping)),
        "repeating-instruments.csv": to_csv(REPEATING_COLUMNS, repeating_rows(mapping)),
    }
