"""Red flags written unasked, and the reader's parts, one behaviour each (the corpus
test, test_red_flag_corpus.py, measures the whole)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from service.domain.free_text_words import Lexicon, tokenize
from service.domain.protocol_loader import ProtocolError, load_protocol, parse_protocol
from service.domain.red_flags import Heard, RedFlagReader
from service.domain.safety import evaluate_pregnancy, evaluate_symptoms
from service.domain.temperatures import read_temperatures

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = load_protocol(REPO / "schedules" / "msc-role.toml")
READER = RedFlagReader(PROTOCOL.symptoms, PROTOCOL.safety)


def heard(text: str) -> dict[str, str]:
    return {f.code: f.heard.value for f in READER.read(text).flags}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("estoy embarazada", "pregnancy"),
        ("Estoy embarazada!!", "pregnancy"),
        ("ESTOY EMBARASADA", "pregnancy"),
        ("hola doctora, me hice el test y estoy embarazada", "pregnancy"),
        ("quedé embarazada 😳", "pregnancy"),
        ("me salio positivo el test de embarazo, test de embarazo positivo", "pregnancy"),
        ("dolor de pecho", "chest_pain"),
        ("Tengo dolor en el pecho desde anoche", "chest_pain"),
        ("dolor al pexho", "chest_pain"),
        ("DOLOR DE PCEHO", "chest_pain"),
        ("me falta aire al caminar", "shortness_of_breath"),
        ("no puedo respirar bien", "shortness_of_breath"),
        ("casi no orino", "less_urine"),
        ("fiebre 39", "fever"),
        ("Fiebre de 39.2°", "fever"),
    ],
)
def test_red_flags_as_written_alert(text: str, code: str) -> None:
    assert code in READER.read(text).alerts


@pytest.mark.parametrize(
    "text",
    [
        "no estoy embarazada",
        "no tengo fiebre",
        "sin dolor de pecho, gracias",
        "hola, ¿a qué hora es mi control?",
        "gracias",
        "me siento bien",
        "1",
        "voy a calentar la comida 40 minutos",
    ],
)
def test_negations_and_ordinary_messages_alert_nothing(text: str) -> None:
    assert READER.read(text).report is None


def test_clauses_and_segments_follow_punctuation_and_contrast() -> None:
    tokens = tokenize("no tengo fiebre, pero me duele. ok")
    by_word = {t.plain: t for t in tokens}
    assert by_word["fiebre"].clause != by_word["me"].clause
    assert by_word["fiebre"].segment != by_word["me"].segment  # "pero"
    assert by_word["fiebre"].sentence == by_word["me"].sentence
    assert by_word["ok"].sentence == by_word["me"].sentence + 1


def test_shorthand_and_dictated_punctuation() -> None:
    tokens = tokenize("tng dolor d pecho punto gracias", {"tng": "tengo", "d": "de"})
    assert [t.plain for t in tokens] == ["tengo", "dolor", "de", "pecho", ".", "gracias"]
    assert [t.plain for t in tokenize("38 coma 5")] == ["38", "coma", "5"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("duele", "doler"),  # a verb in any person and tense: lemma
        ("dolia", "doler"),  # typed without its accent: restored, then lemma
        ("pechos", "pecho"),  # plural: stem
        ("resprar", "respirar"),  # an unknown word: one typo
        ("embarasada", "embarazada"),
    ],
)
def test_a_word_stands_for_its_forms_and_typos(typed: str, meant: str) -> None:
    lexicon = Lexicon(["doler", "pecho", "respirar", "embarazada", "peso"])
    assert meant in lexicon.meanings(tokenize(typed)[0])


def test_a_known_word_is_never_taken_for_a_typo() -> None:
    lexicon = Lexicon(["pecho"])
    assert lexicon.meanings(tokenize("peso")[0]) == frozenset()


@pytest.mark.parametrize(
    ("text", "low", "high", "clear"),
    [
        ("tengo 38,5", "38.5", "38.5", True),
        ("38.7", "38.7", "38.7", True),
        ("tengo 38 5 de fiebre", "38.5", "38.5", True),
        ("fiebre de 38 coma 5", "38.5", "38.5", True),
        ("tengo 38 y algo", "38.1", "38.9", True),
        ("treinta y ocho y medio", "38.5", "38.5", True),
        ("treinta y nueve", "39", "39", True),
        ("estoy con 38°", "38", "38", True),
        ("tengo casi 38", "37.5", "37.9", True),
        ("tengo 385", "38.5", "38.5", False),
    ],
)
def test_temperatures_as_people_write_them(text: str, low: str, high: str, clear: bool) -> None:
    (reading,) = read_temperatures(tokenize(text), {"fiebre"})
    assert (reading.low, reading.high, reading.clear) == (Decimal(low), Decimal(high), clear)


@pytest.mark.parametrize(
    "text", ["tengo 38 años", "llevo 38 dias", "tengo 40 pastillas", "la micro 38 me deja ahi"]
)
def test_numbers_that_are_not_temperatures(text: str) -> None:
    assert read_temperatures(tokenize(text), {"fiebre"}) == []


def test_two_readings_joined_by_o_are_unclear() -> None:
    readings = read_temperatures(tokenize("tengo 38 o 37, el termometro"), {"termometro"})
    assert [r.clear for r in readings] == [False, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("me duele mucho el pecho", {"chest_pain": "said"}),
        ("el pecho no me duele", {"chest_pain": "negated"}),
        ("ya se me paso el dolor de pecho", {"chest_pain": "negated"}),
        ("me dolia el pecho pero ya se me quito", {"chest_pain": "negated"}),
        ("tengo una puntada en el pecho q no se me quita", {"chest_pain": "said"}),
        ("si me da fiebre de 38 tengo que ir a urgencia?", {"fever": "question"}),
        ("¿Es normal que me duela el pecho?", {"chest_pain": "question"}),
        ("hola, me duele el pecho, que hago?", {"chest_pain": "said"}),
        ("hola si me duele el pecho", {"chest_pain": "said"}),  # "sí", not "if"
        ("mi papa esta con dolor de pecho", {"chest_pain": "someone_else"}),
        ("estoy con mi hija en la urgencia porque me duele el pecho", {"chest_pain": "said"}),
        ("tengo fiebre", {"fever": "unclear"}),
        ("tengo fiebre de 37,8", {"fever": "below_threshold"}),
        ("el test de embarazo salio negativo", {"pregnancy": "negated"}),
        ("me hice un evatest y salieron dos rayitas", {"pregnancy": "said"}),
        ("no puedo respirar", {"shortness_of_breath": "said"}),
        ("sin falta de aire", {"shortness_of_breath": "negated"}),
        ("casi no hago pipi", {"less_urine": "said"}),
        ("me duele un poco al orinar", {}),  # `unless`: "un poco" is not little urine
        ("le di pecho a mi guagua y me peso", {}),  # `unless`: breastfeeding
    ],
)
def test_scope(text: str, expected: dict[str, str]) -> None:
    assert heard(text) == expected


def test_a_resolution_does_not_reach_past_a_contrast() -> None:
    reading = READER.read("ya se me paso la fiebre, pero hoy de nuevo 38,5")
    assert reading.alerts == ("fever",)


def test_the_report_is_judged_by_the_same_safety_rules() -> None:
    reading = READER.read("tengo 38 y algo y me duele el pecho. Estoy embarazada")
    report = reading.report
    assert report is not None and report.symptoms is not None and report.pregnancy is not None
    by_code = {s.code: s for s in report.symptoms.symptoms}
    assert by_code["fever"].temperature_c == pytest.approx(38.1)  # the least it can be
    assert by_code["chest_pain"].severity is None and not report.symptoms.complete
    findings = evaluate_symptoms(report.symptoms, PROTOCOL.symptoms, PROTOCOL.safety)
    assert {f.code for f in findings} == {"fever", "red_flag:chest_pain"}
    assert evaluate_pregnancy(report.pregnancy, PROTOCOL.safety)
    assert READER.read("mi hija esta embarazada").queue_reason is Heard.SOMEONE_ELSE


def _replace(old: str, new: str) -> str:
    text = (REPO / "schedules" / "msc-role.toml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('hints = ["🤒"]', 'hints = ["pecho + "]', "part 2 is empty"),
        ('hints = ["🤒"]', 'hints = ["de|la"]', r"needs a word of 3\+ letters"),
        ('hints = ["🤒"]', 'hints = ["fiebre 39"]', "numeric"),
        ('hints = ["🤒"]', 'hints = "fiebre"', "must be a list of patterns"),
        ('hints = ["🤒"]', 'hints = ["sin aire"]', "already listed"),
        ("phrase_gap = 1", "phrase_gap = 9", "at most 4"),
        ("phrase_gap = 1", "phrase_gap = 1\nnegatoin = []", 'did you mean "negation"'),
        ('others = [\n  "hija"', 'others = [\n  "hija|hijo"', "plain words only"),
    ],
)
def test_a_bad_concept_stops_start_up_naming_the_entry(old: str, new: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        parse_protocol(_replace(old, new), "msc-role.toml")


def test_concepts_need_the_free_text_table() -> None:
    text = (REPO / "schedules" / "msc-role.toml").read_text(encoding="utf-8")
    start = text.index("[safety.free_text]")
    end = text.index("# ----", start)
    with pytest.raises(ProtocolError, match=r"need a \[safety.free_text\] table"):
        parse_protocol(text[:start] + text[end:], "msc-role.toml")
