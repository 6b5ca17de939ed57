"""Red flags in SMS sent outside a dialogue, with the protocol file's own phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.domain.protocol_loader import ProtocolError, load_protocol, parse_protocol
from service.domain.red_flags import detect_report, mentions
from service.domain.safety import evaluate_pregnancy, evaluate_symptoms

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = load_protocol(REPO / "schedules" / "msc-role.toml")


def report(text: str) -> tuple[set[str], float | None, bool]:
    found = detect_report(text, PROTOCOL.symptoms, PROTOCOL.safety)
    if found is None:
        return set(), None, False
    codes = {s.code for s in found.symptoms.symptoms} if found.symptoms else set()
    temps = [s.temperature_c for s in found.symptoms.symptoms] if found.symptoms else []
    temperature = next((t for t in temps if t is not None), None)
    return codes, temperature, found.pregnancy is not None


@pytest.mark.parametrize(
    "text",
    [
        "estoy embarazada",
        "Estoy embarazada!!",
        "ESTOY EMBARASADA",
        "hola doctora, me hice el test y estoy embarazada",
        "quedé embarazada 😳",
        "me salio positivo el test de embarazo, test de embarazo positivo",
    ],
)
def test_pregnancy_reports(text: str) -> None:
    assert report(text)[2]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("dolor de pecho", "chest_pain"),
        ("Tengo dolor en el pecho desde anoche", "chest_pain"),
        ("me duele el pecho", "chest_pain"),
        ("dolor al pexho", "chest_pain"),
        ("DOLOR DE PCEHO", "chest_pain"),
        ("me falta el aire", "shortness_of_breath"),
        ("me falta aire al caminar", "shortness_of_breath"),
        ("no puedo respirar bien", "shortness_of_breath"),
        ("casi no orino", "less_urine"),
    ],
)
def test_symptom_reports(text: str, code: str) -> None:
    assert code in report(text)[0]


@pytest.mark.parametrize(
    ("text", "temperature"),
    [("fiebre 39", 39.0), ("tengo 38,5 de fiebre", 38.5), ("Fiebre de 39.2°", 39.2)],
)
def test_fever_takes_the_one_plausible_number(text: str, temperature: float) -> None:
    codes, found, _ = report(text)
    assert codes == {"fever"} and found == temperature


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
    ],
)
def test_negations_and_ordinary_messages_report_nothing(text: str) -> None:
    assert report(text) == (set(), None, False)


def test_the_safety_rules_decide_what_alerts() -> None:
    fever = detect_report("fiebre 39", PROTOCOL.symptoms, PROTOCOL.safety)
    assert fever is not None and fever.symptoms is not None
    assert [f.code for f in evaluate_symptoms(fever.symptoms, PROTOCOL.symptoms, PROTOCOL.safety)]
    bare = detect_report("tengo fiebre", PROTOCOL.symptoms, PROTOCOL.safety)
    assert bare is not None and bare.symptoms is not None
    assert evaluate_symptoms(bare.symptoms, PROTOCOL.symptoms, PROTOCOL.safety) == []
    chest = detect_report("dolor de pecho", PROTOCOL.symptoms, PROTOCOL.safety)
    assert chest is not None and chest.symptoms is not None
    findings = evaluate_symptoms(chest.symptoms, PROTOCOL.symptoms, PROTOCOL.safety)
    assert findings[0].emergency
    pregnant = detect_report("estoy embarazada", PROTOCOL.symptoms, PROTOCOL.safety)
    assert pregnant is not None and pregnant.pregnancy is not None
    assert evaluate_pregnancy(pregnant.pregnancy, PROTOCOL.safety)


def test_short_words_must_match_exactly() -> None:
    assert not mentions("me falta el aide", ["me falta el aire"])
    assert mentions("me falta el aire", ["me falta el aire"])


def _with(extra_symptom: str = "", extra_safety: str = "") -> str:
    text = (REPO / "schedules" / "msc-role.toml").read_text(encoding="utf-8")
    text = text.replace(
        'code = "chills"\nlabel_key = "symptom.chills"\n',
        f'code = "chills"\nlabel_key = "symptom.chills"\n{extra_symptom}',
    )
    return text.replace(
        "escalate_after_minutes = 30\n", f"escalate_after_minutes = 30\n{extra_safety}"
    )


@pytest.mark.parametrize(
    ("symptom", "problem"),
    [
        ('report_phrases = [""]\n', "non-empty"),
        ('report_phrases = ["de la"]\n', "no word left"),
        ('report_phrases = ["ay"]\n', "too short"),
        ('report_phrases = "escalofrios"\n', "list of strings"),
        ('report_phrases = ["dolor al pecho"]\n', "already listed"),
    ],
)
def test_bad_phrases_stop_start_up_naming_the_entry(symptom: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem) as raised:
        parse_protocol(_with(symptom), "msc-role.toml")
    assert "symptoms" in str(raised.value)


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ("[daily_budget]\nmax_per_day = 0\nmin_gap_minutes = 120\n", ">= 1"),
        ("[daily_budget]\nmax_per_day = 2\nmin_gap_minutes = 900\n", "at most 720"),
        ('[daily_budget]\nmax_per_day = 2\nmin_gap_minutes = 0\npriority = ["nope"]\n', "nope"),
        ("[daily_budget]\nmax_per_day = 2\n", "min_gap_minutes"),
    ],
)
def test_a_bad_daily_budget_stops_start_up_naming_it(budget: str, problem: str) -> None:
    text = (REPO / "schedules" / "msc-role.toml").read_text(encoding="utf-8")
    start = text.index("[daily_budget]")
    end = text.index("# ----", start)
    with pytest.raises(ProtocolError, match=problem) as raised:
        parse_protocol(text[:start] + budget + text[end:], "msc-role.toml")
    assert "daily_budget" in str(raised.value)


def test_an_everyday_word_near_a_phrase_with_a_number_is_not_a_fever() -> None:
    assert report("voy a calentar la comida 40 minutos") == (set(), None, False)
