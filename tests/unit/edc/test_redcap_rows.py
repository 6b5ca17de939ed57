"""REDCap rows, the metadata check and hand-edit detection: pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from service.domain.edc.model import EdcMapping
from service.domain.edc.naming import EdcMappingError
from service.domain.edc.records import CheckinFact, Placement, TransactionType, entry_for
from service.domain.edc.redcap_rows import (
    metadata_differences,
    redcap_value,
    row_for,
    without_hand_edits,
)
from service.domain.edc.redcap_setup import data_dictionary_rows, event_rows, instrument_event_rows

AT = datetime(2027, 4, 4, 2, 30, tzinfo=UTC)  # 23:30 in Santiago (UTC-3) the day before
WHERE = Placement(7, "MSC-001", "CUA", "America/Santiago", 3, TransactionType.UPDATE)


def _fact(**changes: object) -> CheckinFact:
    base = {
        "questionnaire": "symptoms",
        "checkin_key": "checkin:symptoms_weekly:2027-04-03",
        "version": 2,
        "channel": "sms",
        "answers": {"symptoms": [{"code": "chest_pain", "severity": None}]},
        "complete": False,
        "late": True,
        "submitted_at": AT,
        "source_id": "SM1",
        "raw_texts": ("4", "me duele, llamen al 961234567"),
    }
    return CheckinFact(**{**base, **changes})  # type: ignore[arg-type]


def test_values_in_redcaps_formats() -> None:
    assert redcap_value(None) == ""
    assert redcap_value(True) == "1" and redcap_value(False) == "0"
    assert redcap_value(date(2027, 1, 2)) == "2027-01-02"
    assert redcap_value(AT) == "2027-04-04 02:30"
    assert redcap_value(AT.astimezone(ZoneInfo("America/Santiago"))) == "2027-04-03 23:30"
    assert redcap_value(38.0) == "38"


def test_a_row_has_deterministic_keys_and_both_clocks(mapping: EdcMapping) -> None:
    row = row_for(mapping, entry_for(mapping, _fact(), WHERE))
    assert row["record_id"] == "MSC-001"
    assert row["redcap_event_name"] == mapping.pro_event.unique_name
    assert (row["redcap_repeat_instrument"], row["redcap_repeat_instance"]) == ("sintomas", "3")
    assert row["redcap_data_access_group"] == "cua"
    assert row["ce_received_utc"] == "2027-04-04 02:30"
    assert row["ce_received_local"] == "2027-04-03 23:30"
    # chosen but unrated (the participant was handed off), the rest unknown (incomplete)
    assert row["ce_chest_pain_sev"] == "97"
    assert row["ce_fever_sev"] == "" and row["ce_all_rated"] == "0"
    assert row["ce_raw_text"] == "4\nme duele, llamen al [número]"


def test_dst_change_day_local_time(mapping: EdcMapping) -> None:
    # 2027-04-04 03:00 Santiago returns to UTC-4: 04:30 UTC is 00:30 local
    late = datetime(2027, 4, 4, 4, 30, tzinfo=UTC)
    row = row_for(mapping, entry_for(mapping, _fact(submitted_at=late), WHERE))
    assert row["ce_received_local"] == "2027-04-04 00:30"


def test_dst_start_day_local_time(mapping: EdcMapping) -> None:
    # 2026-09-06 00:00 Santiago jumps to 01:00 (UTC-4 -> UTC-3): one UTC hour apart,
    # two local hours apart
    before = datetime(2026, 9, 6, 3, 30, tzinfo=UTC)
    after = datetime(2026, 9, 6, 4, 30, tzinfo=UTC)
    local = [
        row_for(mapping, entry_for(mapping, _fact(submitted_at=t), WHERE))["ce_received_local"]
        for t in (before, after)
    ]
    assert local == ["2026-09-05 23:30", "2026-09-06 01:30"]


def test_a_symptom_the_mapping_cannot_place_is_an_error(mapping: EdcMapping) -> None:
    fact = _fact(answers={"symptoms": [{"code": "hiccups", "severity": "mild"}]})
    with pytest.raises(EdcMappingError, match="hiccups"):
        entry_for(mapping, fact, WHERE)


def test_hand_edits_are_left_out_and_reported() -> None:
    row = {"record_id": "A", "x": "2", "y": "5", "z": "9"}
    held = {"record_id": "A", "x": "1", "y": "4", "z": "9"}
    last = {"x": "1", "y": "3"}
    clean, edits = without_hand_edits(row, held, last)
    assert clean == {"record_id": "A", "x": "2", "z": "9"}
    assert [(e.field, e.ours, e.theirs) for e in edits] == [("y", "5", "4")]


def test_metadata_differences(mapping: EdcMapping) -> None:
    meta = data_dictionary_rows(mapping)
    events, pairs = event_rows(mapping), instrument_event_rows(mapping)
    assert metadata_differences(mapping, meta, events, pairs) == []
    changed = [dict(r, field_type="text") if r["field_name"] == "rp_pregnant" else r for r in meta]
    problems = metadata_differences(mapping, changed[1:], events[1:], pairs[:-1])
    assert "field record_id is missing" in problems
    assert any("rp_pregnant: field_type" in p for p in problems)
    assert any(p.startswith("event reportes_del_parti_arm_1") for p in problems)
    assert any("is not designated to event eos_" in p for p in problems)


def test_a_check_in_answered_by_whatsapp_says_so_and_keeps_its_words(mapping: EdcMapping) -> None:
    row = row_for(mapping, entry_for(mapping, _fact(channel="whatsapp"), WHERE))
    assert row["ce_channel"] == "4"
    assert row["ce_raw_text"] == "4\nme duele, llamen al [número]"
    app = row_for(mapping, entry_for(mapping, _fact(channel="app"), WHERE))
    assert app["ce_channel"] == "2" and app.get("ce_raw_text", "") == ""
