"""The REDCap set-up files: REDCap's column layouts, and consistent with each other."""

from __future__ import annotations

import csv
import io

from service.domain.edc.model import EdcMapping
from service.domain.edc.redcap_setup import DATA_DICTIONARY_COLUMNS, setup_files


def _read(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def test_data_dictionary_has_redcaps_18_columns_in_order(mapping: EdcMapping) -> None:
    header, rows = _read(setup_files(mapping)["data-dictionary.csv"])
    assert header == list(DATA_DICTIONARY_COLUMNS)
    assert len(header) == 18
    assert header[0] == "field_name" and header[-1] == "field_annotation"
    assert rows[0]["field_name"] == "record_id"
    fever = next(r for r in rows if r["field_name"] == "ce_fever_sev")
    assert fever["field_type"] == "radio"
    assert fever["select_choices_or_calculations"].startswith("0, Ausente | 1, Leve | 2, Moderado")
    temp = next(r for r in rows if r["field_name"] == "ce_fever_temp")
    assert temp["text_validation_type_or_show_slider_number"] == "number"
    assert (temp["text_validation_min"], temp["text_validation_max"]) == ("34", "43")
    dt = next(r for r in rows if r["field_name"] == "ce_received_utc")
    assert dt["text_validation_type_or_show_slider_number"] == "datetime_ymd"
    assert "UTC" in dt["field_note"]


def test_longitudinal_tables_agree(mapping: EdcMapping) -> None:
    files = setup_files(mapping)
    header, events = _read(files["events.csv"])
    assert header == [
        "event_name",
        "arm_num",
        "unique_event_name",
        "day_offset",
        "offset_min",
        "offset_max",
    ]
    unique = {e["unique_event_name"] for e in events}
    header, mappings = _read(files["instrument-event-mappings.csv"])
    assert header == ["arm_num", "unique_event_name", "form"]
    assert {m["unique_event_name"] for m in mappings} == unique
    _, dictionary = _read(files["data-dictionary.csv"])
    forms = {r["form_name"] for r in dictionary}
    assert {m["form"] for m in mappings} == forms
    header, repeating = _read(files["repeating-instruments.csv"])
    assert header == ["event_name", "form_name", "custom_form_label"]
    assert {(r["event_name"], r["form_name"]) for r in repeating} == {
        (mapping.pro_event.unique_name, form) for form in ("sintomas", "embarazo", "contactos")
    }


def test_csv_uses_crlf_and_keeps_spanish(mapping: EdcMapping) -> None:
    text = setup_files(mapping)["data-dictionary.csv"]
    assert "\r\n" in text
    assert "Aplicación móvil" in text
