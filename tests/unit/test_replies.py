from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.replies import (
    NOT_MEASURED,
    Severity,
    parse_severity,
    parse_symptom_choices,
    parse_temperature,
    parse_yes_no,
)
from tests.support.symptom_fixtures import SYMPTOMS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,4", {1, 4}),
        ("1 4", {1, 4}),
        ("1, 4.", {1, 4}),
        ("1y4", {1, 4}),
        ("1 y 4", {1, 4}),
        ("1.4", {1, 4}),
        ("1;4/7", {1, 4, 7}),
        ("4", {4}),
        ("13", {13}),
        ("4,4", {4}),
        ("tuve el 3", {3}),
        ("Solo el 11, gracias", {11}),
        ("１，４", {1, 4}),
        ("0", set()),
        ("NINGUNO", set()),
        ("ninguna.", set()),
        ("nada", set()),
        ("No", set()),
        ("no tengo ninguno", set()),
        ("ninguno de los anteriores", set()),
        ("sin sintomas", set()),
        ("0, ninguno", set()),
    ],
)
def test_symptom_choices_understood(text: str, expected: set[int]) -> None:
    assert parse_symptom_choices(text, SYMPTOMS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1-4",  # a range or a list? ask again
        "14",  # not on the menu (there are 13)
        "0 4",  # none and a symptom
        "no 4",
        "04",
        "99",
        "fiebre",  # words are not mapped to numbers
        "tengo fiebre y tos",
        "si",
        "y",
        "",
        "?",
        "1 😷",
        "hola",
        "no tengo fiebre pero si tos",
    ],
)
def test_symptom_choices_not_understood(text: str) -> None:
    assert parse_symptom_choices(text, SYMPTOMS) is None


def test_symptom_choices_respect_the_protocol_list() -> None:
    assert parse_symptom_choices("13", SYMPTOMS[:12]) is None
    assert parse_symptom_choices("12", SYMPTOMS[:12]) == {12}


@given(
    st.sets(st.integers(min_value=1, max_value=13), min_size=1),
    st.sampled_from([",", " ", "y", ", "]),
)
def test_symptom_choices_any_subset(numbers: set[int], separator: str) -> None:
    text = separator.join(str(n) for n in sorted(numbers))
    assert parse_symptom_choices(text, SYMPTOMS) == numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Severity.MILD),
        ("2", Severity.MODERATE),
        ("3", Severity.SEVERE),
        ("3.", Severity.SEVERE),
        ("leve", Severity.MILD),
        ("Muy leve", Severity.MILD),
        ("1 leve", Severity.MILD),
        ("mild", Severity.MILD),
        ("moderado", Severity.MODERATE),
        ("Moderada", Severity.MODERATE),
        ("más o menos", Severity.MODERATE),
        ("moderate", Severity.MODERATE),
        ("severo", Severity.SEVERE),
        ("SEVERA", Severity.SEVERE),
        ("grave", Severity.SEVERE),
        ("fuerte", Severity.SEVERE),
        ("muy fuerte!", Severity.SEVERE),
        ("Grave.", Severity.SEVERE),
        ("severe", Severity.SEVERE),
    ],
)
def test_severity_understood(text: str, expected: Severity) -> None:
    assert parse_severity(text) is expected


@pytest.mark.parametrize(
    "text",
    ["", "4", "0", "1 severo", "2 o 3", "no tan fuerte", "poco", "si", "mas", "12", "alto", "baja"],
)
def test_severity_not_understood(text: str) -> None:
    assert parse_severity(text) is None


def test_severity_rank_is_clinical_not_alphabetical() -> None:
    assert [s.rank for s in (Severity.MILD, Severity.MODERATE, Severity.SEVERE)] == [1, 2, 3]
    assert Severity.SEVERE.at_least(Severity.MODERATE)
    assert not Severity.MILD.at_least(Severity.MODERATE)
    assert Severity.MODERATE.label_key == "severity.moderate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("38,5", Decimal("38.5")),
        ("38.5", Decimal("38.5")),
        ("38.5°", Decimal("38.5")),
        ("38,5º", Decimal("38.5")),  # ordinal sign typed for the degree sign
        ("38.5 C", Decimal("38.5")),
        ("38.5°C.", Decimal("38.5")),
        ("39", Decimal("39")),
        ("37,85", Decimal("37.85")),
        ("tengo 38,5 grados", Decimal("38.5")),
        ("temperatura: 38", Decimal("38")),
        ("34", Decimal("34")),
        ("43", Decimal("43")),
    ],
)
def test_temperature_understood(text: str, expected: Decimal) -> None:
    assert parse_temperature(text) == expected


@pytest.mark.parametrize(
    "text", ["no", "NO", "n", "No tengo termómetro", "no la medí", "sin termometro"]
)
def test_temperature_not_measured(text: str) -> None:
    assert parse_temperature(text) is NOT_MEASURED


@pytest.mark.parametrize(
    "text",
    ["", "33.9", "43.1", "101.3", "385", "38 o 39", "38.555", "si", "alta", "tengo 38 y 39", "1"],
)
def test_temperature_not_understood(text: str) -> None:
    assert parse_temperature(text) is None


@given(st.decimals(min_value=34, max_value=43, places=1))
def test_temperature_comma_and_point_agree(value: Decimal) -> None:
    assert parse_temperature(f"{value}") == value
    assert parse_temperature(f"{value}".replace(".", ",")) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sí", True),
        ("Si.", True),
        (" SI ", True),
        ("s", True),
        ("yes", True),
        ("Sí, estoy embarazada", True),
        ("estoy embarazada", True),
        ("no", False),
        ("NO", False),
        ("n", False),
        ("No, gracias", False),
        ("no estoy embarazada", False),
    ],
)
def test_yes_no_understood(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize("text", ["", "si no", "no se", "quizas", "1", "creo que si", "ayuda"])
def test_yes_no_not_understood(text: str) -> None:
    assert parse_yes_no(text) is None


@given(st.text(max_size=30))
def test_parsers_never_raise(text: str) -> None:
    parse_symptom_choices(text, SYMPTOMS)
    parse_severity(text)
    parse_temperature(text)
    parse_yes_no(text)
