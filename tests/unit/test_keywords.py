from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.keywords import Keyword, classify_keyword, normalize_reply


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sí", "si"),
        ("Si.", "si"),
        ("  SI  ", "si"),
        ("¡Alto!", "alto"),
        ("¿ayuda?", "ayuda"),
        ("Baja,   gracias", "baja, gracias"),
        ("1, 4.", "1, 4"),
        ("38,5", "38,5"),
        ("NINGÚNO", "ninguno"),
        ("Ñandú", "nandu"),
        ("\t1\n4 ", "1 4"),
        ("１，４", "1,4"),  # full-width digits and comma from some keyboards
        ("...", ""),
        ("", ""),
    ],
)
def test_normalize_reply(raw: str, expected: str) -> None:
    assert normalize_reply(raw) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_reply(text)
    assert normalize_reply(once) == once
    assert once == once.strip()
    assert "  " not in once


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop!",
        "Stop",
        "STOPALL",
        "unsubscribe",
        "CANCEL",
        "end",
        "QUIT",
        "revoke",
        "OPTOUT",
        "BAJA",
        "baja",
        "Baja, gracias",
        "Baja gracias",
        "baja por favor",
        "BAJA muchas gracias",
        "Parar",
        "Alto",
        "¡ALTO!",
        "stop please",
        "stop baja",
    ],
)
def test_opt_out(text: str) -> None:
    assert classify_keyword(text) is Keyword.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "cancelar la cita",  # wants to move a visit, not to leave follow-up
        "cancelar",  # in answer to a visit reminder: the visit (a reschedule request)
        "CANCELAR.",
        "alto dolor de pecho",
        "alto riesgo",
        "baja la fiebre",
        "stop stop stop stop stop",  # more than four words
        "no quiero mas mensajes stop",  # keyword not first
        "por favor baja",
        "bajar",
        "stopp",
    ],
)
def test_not_opt_out(text: str) -> None:
    assert classify_keyword(text) is not Keyword.OPT_OUT


@pytest.mark.parametrize("text", ["cancelar", "Cancelar.", "CANCELAR gracias", "reagendar"])
def test_cancelar_is_about_a_visit_not_the_study(text: str) -> None:
    assert classify_keyword(text) is Keyword.CANCEL_VISIT


@pytest.mark.parametrize("text", ["START", "unstop", "ALTA", "Alta.", "iniciar", "alta gracias"])
def test_opt_in(text: str) -> None:
    assert classify_keyword(text) is Keyword.OPT_IN


@pytest.mark.parametrize("text", ["YES", "si", "SI", "Sí", "sí", "Si.", " SI ", "s", "Y", "siii"])
def test_yes_is_never_opt_in(text: str) -> None:
    assert classify_keyword(text) is Keyword.YES


@pytest.mark.parametrize("text", ["AYUDA", "ayuda?", "¿Ayuda?", "help", "INFO", "ayuda por favor"])
def test_help(text: str) -> None:
    assert classify_keyword(text) is Keyword.HELP


@pytest.mark.parametrize("text", ["no", "NO", "No.", "n", "noo", "no gracias", "No, no"])
def test_no(text: str) -> None:
    assert classify_keyword(text) is Keyword.NO


@pytest.mark.parametrize(
    "text", ["0", "NINGUNO", "ninguna.", "Ninguna", "nada", "nada, gracias", "0 gracias"]
)
def test_none(text: str) -> None:
    assert classify_keyword(text) is Keyword.NONE


@pytest.mark.parametrize(
    "text",
    ["", "   ", "?", "1", "1,4", "hola", "si no", "sí estoy embarazada", "necesito ayuda", "38,5"],
)
def test_not_a_keyword(text: str) -> None:
    assert classify_keyword(text) is None


@pytest.mark.parametrize(
    ("opt_out_type", "text", "expected"),
    [
        ("STOP", "lo que sea", Keyword.OPT_OUT),
        ("stop", "si", Keyword.OPT_OUT),
        ("START", "BAJA", Keyword.OPT_IN),
        ("HELP", "1,4", Keyword.HELP),
        (" Help ", "", Keyword.HELP),
        ("", "STOP", Keyword.OPT_OUT),
        (None, "ALTA", Keyword.OPT_IN),
        ("SOMETHING_NEW", "si", Keyword.YES),  # unknown values are ignored
    ],
)
def test_twilio_opt_out_type_wins(opt_out_type: str | None, text: str, expected: Keyword) -> None:
    assert classify_keyword(text, opt_out_type) is expected


@pytest.mark.parametrize("text", ["alto", "ALTA", "baja", "Baja, gracias"])
def test_level_words_are_not_keywords_while_awaiting_severity(text: str) -> None:
    assert classify_keyword(text, awaiting_severity=True) is None


def test_awaiting_severity_keeps_unambiguous_opt_out_and_twilio_verdict() -> None:
    assert classify_keyword("STOP", awaiting_severity=True) is Keyword.OPT_OUT
    assert classify_keyword("parar", awaiting_severity=True) is Keyword.OPT_OUT
    assert classify_keyword("baja", "STOP", awaiting_severity=True) is Keyword.OPT_OUT
    assert classify_keyword("ayuda", awaiting_severity=True) is Keyword.HELP


@given(st.text(max_size=40))
def test_classify_never_raises_and_ignores_case_and_accents(text: str) -> None:
    result = classify_keyword(text)
    assert result is None or isinstance(result, Keyword)
    assert classify_keyword(text.upper()) == classify_keyword(normalize_reply(text).upper())
