"""REDCap's own naming rules, reproduced: the push must name events REDCap has."""

from __future__ import annotations

import hashlib

import pytest

from service.domain.edc.naming import field_name_problem, unique_event_names, unique_group_names


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Event 1", "event_1_arm_1"),
        ("Baseline Visit", "baseline_visit_arm_1"),
        # accented letters are dropped, not transliterated
        ("Infusión 2", "infusin_2_arm_1"),
        ("Día 30 (control)", "da_30_control_arm_1"),
        # 18 characters kept, then leading and trailing underscores stripped
        ("Reportes del participante", "reportes_del_parti_arm_1"),
        ("Control mes 1 de seguimiento", "control_mes_1_de_s_arm_1"),
        ("abcdefghijklmnopq r", "abcdefghijklmnopq_arm_1"),
        ("  _Leading and trailing_  ", "leading_and_trail_arm_1"),
        ("Visit &amp; call", "visit__call_arm_1"),
        ("Two  spaces", "two__spaces_arm_1"),
    ],
)
def test_unique_event_name_like_redcap(label: str, expected: str) -> None:
    assert unique_event_names([(label, 1)]) == [expected]


def test_arm_number_is_appended() -> None:
    assert unique_event_names([("Month 6", 2)]) == ["month_6_arm_2"]


def test_duplicates_get_letters_from_b() -> None:
    names = unique_event_names([("Visit", 1), ("Visit", 1), ("Visit!", 1), ("Other", 1)])
    assert names == ["visit_arm_1", "visit_arm_1b", "visit_arm_1c", "other_arm_1"]


def test_twenty_seven_duplicates_get_two_letters() -> None:
    names = unique_event_names([("Visit", 1)] * 28)
    assert names[25] == "visit_arm_1z"
    assert names[26] == "visit_arm_1aa"
    assert names[27] == "visit_arm_1ab"


def test_label_without_ascii_uses_md5() -> None:
    label = "日本語"
    digest = hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()[:10]
    assert unique_event_names([(label, 1)]) == [f"{digest}_arm_1"]


def test_group_names() -> None:
    assert unique_group_names(["CUA", "HBLT", "Hospital Barros Luco Trudeau", "CUA"]) == [
        "cua",
        "hblt",
        "hospital_barros_lu",
        "cuab",
    ]


@pytest.mark.parametrize(
    "name",
    ["Fever", "1abc", "ce-fever", "a" * 27, "redcap_event_name", "sintomas_complete", ""],
)
def test_bad_field_names(name: str) -> None:
    assert field_name_problem(name) is not None


def test_good_field_name() -> None:
    assert field_name_problem("ce_shortness_of_breath_sev") is None


def test_event_labels_are_cut_after_a_word_within_redcaps_30_characters() -> None:
    from service.domain.edc.naming import short_event_label

    assert short_event_label("M1 Control mes 1") == "M1 Control mes 1"
    short = short_event_label("EOS Visita de cierre del estudio (mes 12)")
    assert short == "EOS Visita de cierre del\u2026" and len(short) <= 30
    assert len(short_event_label("x" * 80)) == 30
    # the ellipsis is dropped by REDCap's rule: the unique name is the long label's
    assert unique_event_names([(short, 1)]) == unique_event_names(
        [("EOS Visita de cierre del estudio (mes 12)", 1)]
    )
