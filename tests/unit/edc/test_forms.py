"""The protocol -> EDC mapping: instruments, events, fields, and what never appears."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.edc.forms import build_mapping, label_keys
from service.domain.edc.model import EdcMapping, FieldType
from service.domain.edc.naming import EdcMappingError
from service.domain.protocol import EdcOptions, EdcRawText, Protocol, Symptom


def test_record_id_is_the_first_field(mapping: EdcMapping) -> None:
    assert mapping.fields()[0].name == "record_id"
    assert mapping.instruments[0].name == "participante"


def test_one_event_per_visit_plus_the_epro_event(mapping: EdcMapping, protocol: Protocol) -> None:
    assert [e.visit_code for e in mapping.events] == [None, *(v.code for v in protocol.visits)]
    names = [e.unique_name for e in mapping.events]
    assert len(set(names)) == len(names)
    assert mapping.pro_event.unique_name == "reportes_del_parti_arm_1"
    assert mapping.event_for_visit("M1").unique_name == "m1_control_mes_1_arm_1"


def test_day_offsets_and_windows(mapping: EdcMapping) -> None:
    scr, inf2, m7 = (mapping.event_for_visit(c) for c in ("SCR", "INF2", "M7"))
    assert (scr.day_offset, scr.offset_min, scr.offset_max) == (-14, 14, 13)
    assert (inf2.day_offset, inf2.offset_min, inf2.offset_max) == (183, 7, 14)
    assert m7.day_offset == 183 + 30


def test_infusion_visits_hold_the_infusion_form(mapping: EdcMapping) -> None:
    assert mapping.event_for_visit("INF2").forms == ("visita", "infusion")
    assert mapping.event_for_visit("M3").forms == ("visita",)
    assert set(mapping.pro_event.forms) == {"participante", "sintomas", "embarazo", "contactos"}


def test_every_symptom_has_a_severity_field(mapping: EdcMapping, protocol: Protocol) -> None:
    names = {f.name for f in mapping.instrument("sintomas").fields}
    for symptom in protocol.symptoms:
        assert f"ce_{symptom.code}_sev" in names
        assert (f"ce_{symptom.code}_temp" in names) == symptom.asks_temperature


def test_a_new_symptom_in_the_protocol_adds_its_fields(
    protocol: Protocol, labels: dict[str, str]
) -> None:
    extra = Symptom(code="joint_pain", number=14, label_key="symptom.joint_pain")
    changed = dataclasses.replace(protocol, symptoms=(*protocol.symptoms, extra))
    mapping = build_mapping(changed, {**labels, "symptom.joint_pain": "Dolor articular"})
    field = next(f for f in mapping.fields() if f.name == "ce_joint_pain_sev")
    assert field.label == "Dolor articular: gravedad"
    assert "symptom.joint_pain" in label_keys(changed)


def test_a_symptom_code_too_long_for_redcap_is_refused(
    protocol: Protocol, labels: dict[str, str]
) -> None:
    extra = Symptom(code="very_long_symptom_code_x", number=14, label_key="symptom.other")
    changed = dataclasses.replace(protocol, symptoms=(*protocol.symptoms, extra))
    with pytest.raises(EdcMappingError, match="very_long_symptom_code_x"):
        build_mapping(changed, labels)


def test_missing_label_is_an_error(protocol: Protocol, labels: dict[str, str]) -> None:
    with pytest.raises(EdcMappingError, match=r"symptom\.fever"):
        build_mapping(protocol, {k: v for k, v in labels.items() if k != "symptom.fever"})


def test_raw_text_fields_follow_the_protocol(protocol: Protocol, labels: dict[str, str]) -> None:
    def names(raw: frozenset[EdcRawText]) -> set[str]:
        changed = dataclasses.replace(protocol, edc=EdcOptions(raw_sms_text=raw))
        return {f.name for f in build_mapping(changed, labels).fields()}

    assert "ce_raw_text" in names(frozenset({EdcRawText.SYMPTOMS}))
    assert "rp_raw_text" not in names(frozenset({EdcRawText.SYMPTOMS}))
    assert not {"ce_raw_text", "rp_raw_text"} & names(frozenset())
    assert {"ce_raw_text", "rp_raw_text"} <= names(frozenset(EdcRawText))


def test_no_arm_kit_dose_or_phone_anywhere(mapping: EdcMapping) -> None:
    for field in mapping.fields():
        text = " ".join([field.name, field.label, field.note, field.annotation]).lower()
        for word in ("arm", "kit", "dose", "dosis", "brazo", "placebo", "phone", "teléfono"):
            assert word not in text.replace("_arm_", ""), (field.name, word)


def test_choice_fields_have_integer_codes_except_the_site(mapping: EdcMapping) -> None:
    for field in mapping.fields():
        if field.field_type in (FieldType.RADIO, FieldType.YESNO):
            assert field.odm_data_type == "integer", field.name
    site = next(f for f in mapping.fields() if f.name == "pt_site")
    assert site.odm_data_type == "text"
    assert mapping.dag_for_site("CUA") == "cua"
