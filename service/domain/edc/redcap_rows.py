"""Entries as REDCap flat rows, the metadata check, and hand-edit detection. Pure.

Keys are deterministic: the record is the study id, the event comes from the visit
(or the ePRO event), and a repeating instance was fixed once when the record was
sequenced, so a re-push upserts the same slot and never adds an instance.

Hand edits: REDCap's ``overwriteBehavior=normal`` replaces any non-blank value, a
coordinator's included. So before writing, the push exports what REDCap holds; a
field whose value there differs from what the feed last wrote (and from what it is
about to write) was changed by hand: it is left out of the row and reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.edc.model import EdcMapping
from service.domain.edc.records import Entry, Value
from service.domain.edc.redcap_setup import (
    data_dictionary_rows,
    event_rows,
    instrument_event_rows,
)
from service.domain.xml_text import xml_safe

__all__ = [
    "KEY_FIELDS",
    "HandEdit",
    "metadata_differences",
    "participant_row",
    "redcap_value",
    "row_for",
    "without_hand_edits",
]

KEY_FIELDS = (
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
Slot = tuple[str, str, str, int]  # record, event, form, instance (1 when not repeating)


def redcap_value(value: Value) -> str:
    """REDCap's import formats: Y-M-D dates, 'Y-M-D H:M' datetimes, 1/0, '' for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return xml_safe(str(value))  # REDCap keeps and re-exports it as XML too


def row_for(mapping: EdcMapping, entry: Entry) -> dict[str, str]:
    where = entry.placement
    row = {
        mapping.record_field: where.study_id,
        "redcap_event_name": entry.event,
        "redcap_data_access_group": mapping.dag_for_site(where.site),
    }
    if entry.repeating:
        row["redcap_repeat_instrument"] = entry.form
        row["redcap_repeat_instance"] = str(where.instance)
    row.update((name, redcap_value(value)) for name, value in entry.values)
    return row


def participant_row(mapping: EdcMapping, study_id: str, site: str) -> dict[str, str]:
    return {
        mapping.record_field: study_id,
        "redcap_event_name": mapping.pro_event.unique_name,
        "redcap_data_access_group": mapping.dag_for_site(site),
        "pt_site": site,
    }


@dataclass(frozen=True, slots=True)
class HandEdit:
    field: str
    ours: str
    theirs: str


def without_hand_edits(
    row: Mapping[str, str], held: Mapping[str, str], last_sent: Mapping[str, str]
) -> tuple[dict[str, str], list[HandEdit]]:
    """``row`` minus the fields REDCap holds a hand-changed value for, and those edits.

    A held value counts as the feed's own when it equals what the feed last sent, or
    what it sends now (an import that happened although its answer was lost).
    """
    out: dict[str, str] = {}
    edits = []
    for name, value in row.items():
        theirs = held.get(name, "")
        if name in KEY_FIELDS or theirs in ("", value, last_sent.get(name)):
            out[name] = value
            continue
        edits.append(HandEdit(name, value, theirs))
    return out, edits


def metadata_differences(
    mapping: EdcMapping,
    metadata: Sequence[Mapping[str, str]],
    events: Sequence[Mapping[str, str]],
    form_events: Sequence[Mapping[str, str]],
) -> list[str]:
    """What REDCap's project lacks or has differently from what the push will send."""
    problems = []
    theirs = {row.get("field_name", ""): row for row in metadata}
    compared = ("form_name", "field_type", "select_choices_or_calculations",
                "text_validation_type_or_show_slider_number")  # fmt: skip
    for ours in data_dictionary_rows(mapping):
        name = ours["field_name"]
        held = theirs.get(name)
        if held is None:
            problems.append(f"field {name} is missing")
            continue
        for column in compared:
            if (held.get(column) or "").strip() != ours[column].strip():
                problems.append(f"field {name}: {column} is {held.get(column)!r}, "
                                f"expected {ours[column]!r}")  # fmt: skip
    held_events = {row.get("unique_event_name") for row in events}
    for event in event_rows(mapping):
        if event["unique_event_name"] not in held_events:
            problems.append(
                f"event {event['unique_event_name']} ({event['event_name']}) is missing"
            )
    held_pairs = {(r.get("unique_event_name"), r.get("form")) for r in form_events}
    for pair in instrument_event_rows(mapping):
        if (pair["unique_event_name"], pair["form"]) not in held_pairs:
            problems.append(f"instrument {pair['form']} is not designated to event "
                            f"{pair['unique_event_name']}")  # fmt: skip
    return problems
