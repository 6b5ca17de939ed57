"""GSM-7 / UCS-2 detection, segment counting and folding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.sms_encoding import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    analyze,
    fold_to_gsm,
    is_gsm7,
    prepare_for_sms,
)

SPANISH = "aábcdeéfghiíjklmnñoópqrstuúüvwxyzAÁBCDEÉFGHIÍJKLMNÑOÓPQRSTUÚÜVWXYZ0123456789"
PUNCTUATION = " .,;:¿?¡!()-'\"\n°“”‘’–—…\u00a0"


def test_the_tables_have_the_sizes_of_gsm_03_38() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points minus the escape
    assert len(GSM7_EXTENSION) == 10


@pytest.mark.parametrize("char", [*"éÉñÑüÜàèìòùÇ¿¡@£$¥§Δ_\n\r¤"])
def test_in_the_basic_set(char: str) -> None:
    assert char in GSM7_BASIC


@pytest.mark.parametrize("char", [*"áíóúÁÍÓÚçÀÈâê`°´\u2019\u2013\u00a0"])
def test_not_gsm7(char: str) -> None:
    assert not is_gsm7(char)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    cost = analyze("a" * length)
    assert (cost.encoding, cost.segments, cost.units, cost.characters) == (
        GSM7,
        segments,
        length,
        length,
    )


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_one_accent_forces_ucs2_for_the_whole_text(length: int, segments: int) -> None:
    cost = analyze("á" + "a" * (length - 1))
    assert (cost.encoding, cost.segments, cost.units) == (UCS2, segments, length)


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_extension_characters_count_two_septets(char: str) -> None:
    cost = analyze(char * 80)
    assert (cost.encoding, cost.units, cost.characters, cost.segments) == (GSM7, 160, 80, 1)
    cost = analyze(char * 80 + "a")
    assert (cost.encoding, cost.units, cost.characters, cost.segments) == (GSM7, 161, 81, 2)


def test_escape_pairs_are_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets, but "€" cannot straddle parts 1 and 2.
    cost = analyze("a" * 152 + "€" + "a" * 152)
    assert (cost.units, cost.segments) == (306, 3)
    assert analyze("a" * 151 + "€" + "a" * 153).segments == 2


def test_ucs2_counts_utf16_code_units_and_keeps_surrogates_whole() -> None:
    cost = analyze("🙂" * 35)
    assert (cost.encoding, cost.units, cost.characters, cost.segments) == (UCS2, 70, 35, 1)
    assert analyze("a" * 66 + "🙂" + "a" * 66).segments == 3  # 134 units, emoji can't split
    assert analyze("a" * 65 + "🙂" + "a" * 67).segments == 2


def test_empty_text_costs_nothing() -> None:
    assert analyze("").segments == 0


def test_folding_keeps_what_gsm7_has_and_plains_the_rest() -> None:
    assert fold_to_gsm("¿Cuál es tu teléfono? ¡Ñandú pingüino!") == (
        "¿Cual es tu teléfono? ¡Ñandu pingüino!"
    )
    assert fold_to_gsm("ÁÉÍÓÚ áéíóú àèìòù ÀÈ âêô ç") == "AÉIOU aéiou àèìòù AE aeo c"


def test_folding_punctuation_and_spaces() -> None:
    assert fold_to_gsm("“Hola” ‘tú’ – — … 38,2\u00a0°C 10:00\u202fa.\u00a0m.") == (
        "\"Hola\" 'tu' - - ... 38,2 C 10:00 a. m."
    )


def test_folding_recomposes_before_deciding() -> None:
    assert fold_to_gsm("te\u0301") == "té"  # e + combining acute is GSM-7 "é"
    assert fold_to_gsm("ti\u0301o") == "tio"


def test_folding_leaves_what_has_no_plain_form() -> None:
    assert fold_to_gsm("ok 🙂") == "ok 🙂"


def test_folding_is_applied_only_when_it_saves_a_segment() -> None:
    short = "MSC-ROLE: Mañana tienes tu visita en la Clínica."  # í: UCS-2, 1 segment
    assert prepare_for_sms(short) == (short, analyze(short))

    long = "MSC-ROLE: Mañana tienes tu visita del estudio en la Clínica. " * 2
    body, cost = prepare_for_sms(long)
    assert analyze(long).segments == 2
    assert (cost.encoding, cost.segments) == (GSM7, 1)
    assert body == fold_to_gsm(long)
    assert "Mañana" in body and "Clinica" in body

    assert prepare_for_sms(long, fold=False) == (long, analyze(long))


def test_folding_that_saves_nothing_keeps_the_accents() -> None:
    text = "🙂 " + "información " * 10  # still UCS-2 after folding: same segments
    assert prepare_for_sms(text) == (text, analyze(text))


def test_gsm7_text_is_sent_as_is() -> None:
    text = "MSC-ROLE: ¿Tuviste fiebre? Responde SI o NO."
    assert prepare_for_sms(text) == (text, analyze(text))
    assert analyze(text).encoding == GSM7


@given(st.text(alphabet=SPANISH + PUNCTUATION, max_size=400))
def test_folded_spanish_is_pure_gsm7(text: str) -> None:
    folded = fold_to_gsm(text)
    assert is_gsm7(folded)
    assert analyze(folded).segments <= analyze(text).segments


@given(st.text(max_size=300))
def test_prepare_never_costs_more(text: str) -> None:
    body, cost = prepare_for_sms(text)
    assert cost == analyze(body)
    assert cost.segments <= analyze(text).segments
    assert cost.segments >= (0 if not text else 1)
