"""No answer a dialogue accepts is, or folds to, a keyword the README tells the team to register.

Twilio's Advanced Opt-Out acts on a one-word message with no idea of the
conversation: if "Alto" answered "how bad was it?", Twilio would unsubscribe the
participant and no alert would be raised. This test reads the keywords from the
README's Twilio paragraph (the bold words), builds every candidate answer we know
of (every word any parser knows, every keyword, numbers, temperatures, each in
several spellings), feeds each to every dialogue state and to the visit
confirmation, and fails if an accepted one is a keyword.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from service.domain.conversation import (
    Awaiting,
    ConversationState,
    Step,
    advance,
    start_conversation,
)
from service.domain.keywords import KEYWORD_WORDS, Keyword, classify_keyword, normalize_reply
from service.domain.protocol import Questionnaire
from service.domain.replies import ANSWER_VOCABULARY, SEVERITY_ANSWER_WORDS
from service.domain.sms_encoding import fold_to_gsm
from tests.support.symptom_fixtures import EXPIRES, SYMPTOMS, T0

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = T0 + timedelta(minutes=5)


def readme_keywords() -> frozenset[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("Opt-out: Twilio itself")
    paragraph = text[start : text.index("\n\n", start)]
    words: set[str] = set()
    for group in re.findall(r"\*\*([^*]+)\*\*", paragraph):
        words.update(w.strip().casefold() for w in group.split(","))
    words.discard("not")  # "Do **not** add ..."
    return frozenset(w for w in words if w)


KEYWORDS = readme_keywords()


def _states() -> dict[str, ConversationState]:
    choices = start_conversation(Questionnaire.SYMPTOMS, "weekly:k", T0, EXPIRES)
    to_severity = advance(choices, "1", NOW, SYMPTOMS).state  # fever
    assert to_severity is not None and to_severity.step is Awaiting.SEVERITY
    to_temperature = advance(to_severity, "2", NOW, SYMPTOMS).state
    assert to_temperature is not None and to_temperature.step is Awaiting.TEMPERATURE
    pregnancy = start_conversation(Questionnaire.PREGNANCY, "pregnancy:k", T0, EXPIRES)
    return {
        "symptom_choices": choices,
        "severity": to_severity,
        "temperature": to_temperature,
        "pregnancy": pregnancy,
    }


STATES = _states()


def _spellings(word: str) -> set[str]:
    return {word, word.upper(), word.capitalize(), f"{word}.", f"¡{word.capitalize()}!"}


def _candidates() -> set[str]:
    base = set(ANSWER_VOCABULARY) | set(KEYWORD_WORDS) | set(KEYWORDS)
    base |= {str(n) for n in range(0, 21)}
    base |= {f"{t},{d}" for t in range(34, 44) for d in (0, 5)}
    base |= {"alto", "alta", "bajo", "baja", "álto", "máximo", "mínimo", "sí", "nó"}
    return {spelling for word in base for spelling in _spellings(word)}


CANDIDATES = sorted(_candidates())


def _accepted(step: Step) -> bool:
    return not any(out.message_key.startswith("checkin.clarify") for out in step.outgoing)


def _is_keyword(text: str) -> bool:
    folded = {normalize_reply(text), normalize_reply(fold_to_gsm(text))}
    return bool(folded & KEYWORDS)


def test_the_readme_lists_the_spanish_keywords_and_the_service_knows_them() -> None:
    assert {"baja", "parar", "iniciar", "ayuda", "stop", "help"} <= KEYWORDS
    assert not {"alto", "alta", "bajo", "cancelar"} & KEYWORDS
    assert KEYWORDS <= KEYWORD_WORDS  # the service recognises every word it recommends


@pytest.mark.parametrize("name", sorted(STATES))
def test_no_accepted_answer_is_a_keyword(name: str) -> None:
    state = STATES[name]
    accepted = [t for t in CANDIDATES if _accepted(advance(state, t, NOW, SYMPTOMS))]
    assert accepted, f"the walk found no accepted answer for {name}"
    offending = [t for t in accepted if _is_keyword(t)]
    assert offending == [], f"{name} accepts keyword(s) {offending}"


def test_visit_confirmation_is_not_a_keyword() -> None:
    confirming = [t for t in CANDIDATES if classify_keyword(t) is Keyword.YES]
    assert "SI" in confirming
    assert [t for t in confirming if _is_keyword(t)] == []


def test_severity_numbers_come_first_and_words_are_aliases() -> None:
    assert {"1", "2", "3", "leve", "moderado", "grave"} <= SEVERITY_ANSWER_WORDS
    assert not {"alto", "alta", "baja", "bajo"} & SEVERITY_ANSWER_WORDS


@pytest.mark.parametrize("text", ["Alto", "ALTA", "baja", "Baja!"])
def test_level_words_while_severity_is_asked_are_asked_again(text: str) -> None:
    assert classify_keyword(text, awaiting_severity=True) is None
    step = advance(STATES["severity"], text, NOW, SYMPTOMS)
    assert [o.message_key for o in step.outgoing] == ["checkin.clarify.severity"]


def test_twilio_start_for_a_subscribed_participant_lets_yes_answer() -> None:
    assert classify_keyword("YES", "START", subscribed=True) is Keyword.YES
    assert classify_keyword("YES", "START") is Keyword.OPT_IN
    assert classify_keyword("START", "START", subscribed=True) is Keyword.OPT_IN
    assert classify_keyword("baja", "STOP", subscribed=True) is Keyword.OPT_OUT
