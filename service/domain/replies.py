"""Parsing the answers participants type to check-in questions.

Every parser returns ``None`` when it is not sure, and the conversation then asks
again (and, after two clarifications, hands the participant to the coordinators).
Misreading an answer in a safety follow-up is worse than asking once more, so the
rule throughout is: a reply is understood only when *every* word in it is known
(a number, an answer word, a separator or harmless filler such as "tengo", "el",
"gracias"). "No tengo fiebre pero sí tos" is therefore not understood, on purpose.

``Severity`` lives here (and is re-exported by :mod:`service.domain.conversation`)
because the parsers produce it and the check-in model imports the parsers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Final

from service.domain.keywords import (
    POLITENESS_WORDS,
    Keyword,
    classify_keyword,
    normalize_reply,
    word_keyword,
)
from service.domain.protocol import Symptom


class Severity(StrEnum):
    """How bad a symptom was. Compare with ``rank``, never with ``<`` (that is str order)."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @property
    def label_key(self) -> str:
        """Message key of the label: ``severity.mild`` ..."""
        return f"severity.{self.value}"

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_RANK: Final = {Severity.MILD: 1, Severity.MODERATE: 2, Severity.SEVERE: 3}


class NotMeasured(Enum):
    """The participant has no temperature to give ("no", "no tengo termómetro")."""

    NOT_MEASURED = "not_measured"


NOT_MEASURED: Final = NotMeasured.NOT_MEASURED

MIN_PLAUSIBLE_C: Final = Decimal("34")
MAX_PLAUSIBLE_C: Final = Decimal("43")

# Numbers, words and single other characters, in order: "1y4" -> 1, y, 4.
_TOKEN_RE: Final = re.compile(r"[0-9]+|[a-z]+|\S")
_SEPARATORS: Final = frozenset({",", ";", ":", "/", "+", "&", ".", "!", "?"})

_NEGATIONS: Final = frozenset(
    {"no", "ninguno", "ninguna", "ningunos", "ningunas", "ningun", "nada", "sin"}
)
_CHOICE_FILLER: Final = POLITENESS_WORDS | {
    "y",
    "e",
    "tengo",
    "tuve",
    "he",
    "tenido",
    "me",
    "el",
    "la",
    "los",
    "las",
    "lo",
    "de",
    "numero",
    "numeros",
    "nro",
    "num",
    "solo",
    "solamente",
    "sintoma",
    "sintomas",
    "opcion",
    "opciones",
    "anteriores",
    "estos",
    "estas",
}

# Numbers first, words as aliases. "alto"/"alta"/"baja" ("high"/"low") are left out
# on purpose: Twilio acts on a one-word message without knowing the conversation, and
# those are (or were) opt-out/opt-in words; an answer must never be one. See
# tests/unit/test_answers_not_keywords.py, which walks every accepted answer.
_SEVERITY_WORDS: Final = {
    "1": Severity.MILD,
    "2": Severity.MODERATE,
    "3": Severity.SEVERE,
    **dict.fromkeys(("leve", "leves", "suave", "mild"), Severity.MILD),
    **dict.fromkeys(
        ("moderado", "moderada", "moderate", "medio", "media", "regular", "intermedio"),
        Severity.MODERATE,
    ),
    **dict.fromkeys(
        ("severo", "severa", "severe", "grave", "fuerte", "intenso", "intensa"),
        Severity.SEVERE,
    ),
}
_SEVERITY_FILLER: Final = POLITENESS_WORDS | {
    "muy",
    "bastante",
    "es",
    "fue",
    "era",
    "esta",
    "estuvo",
    "nivel",
    "numero",
    "opcion",
    "el",
    "la",
    "lo",
    "de",
}
_SO_SO_RE: Final = re.compile(r"\bmas o menos\b")  # Chilean "so-so"

_NUMBER_RE: Final = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_TEMPERATURE_FILLER: Final = POLITENESS_WORDS | {
    "c",
    "o",  # "38,5º": NFKD turns the ordinal sign into "o"
    "oc",
    "grado",
    "grados",
    "celsius",
    "centigrados",
    "temperatura",
    "temp",
    "t",
    "tengo",
    "tuve",
    "de",
    "fiebre",
    "me",
    "marco",
    "marca",
    "dio",
    "la",
    "es",
    "fue",
    "mi",
    "tenia",
}
_NOT_MEASURED_LEADS: Final = frozenset({"no", "n", "sin"})

_YES_NO_FILLER: Final = POLITENESS_WORDS | {"estoy", "embarazada", "embarazo"}


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(normalize_reply(text))


def parse_symptom_choices(text: str, symptoms: Iterable[Symptom]) -> set[int] | None:
    """The symptom numbers a reply picks; an empty set means "none"; None = not understood.

    Accepted: "1,4", "1 4", "1, 4.", "1y4", "1 y 4", "tuve el 3"; "0", "ninguno",
    "nada", "no", "no tengo ninguno" are none. Refused: ranges ("1-4" could mean 1
    and 4 or 1 to 4), numbers not on the list, "04", and none mixed with numbers.
    """
    if classify_keyword(text) in (Keyword.NONE, Keyword.NO):
        return set()
    numbers: list[int] = []
    negated = False
    for token in _tokens(text):
        if token.isdigit():
            if len(token) > 1 and token.startswith("0"):
                return None
            numbers.append(int(token))
        elif token in _NEGATIONS:
            negated = True
        elif token not in _CHOICE_FILLER and token not in _SEPARATORS:
            return None
    if negated or 0 in numbers:
        return set() if all(n == 0 for n in numbers) else None
    if not numbers:
        return None
    valid = {symptom.number for symptom in symptoms}
    if not valid.issuperset(numbers):
        return None
    return set(numbers)


def parse_severity(text: str) -> Severity | None:
    """1/2/3 or a word ("leve", "moderada", "grave", "muy fuerte", "más o menos").

    "alto", "alta", "baja" are not understood (the participant is asked again with
    the numbers): they are keywords in some opt-out lists.

    "1 leve" (echoing the menu) is fine; "1 severo" contradicts itself and is None.
    """
    found: set[Severity] = set()
    for token in _TOKEN_RE.findall(_SO_SO_RE.sub("medio", normalize_reply(text))):
        severity = _SEVERITY_WORDS.get(token)
        if severity is not None:
            found.add(severity)
        elif token not in _SEVERITY_FILLER and token not in _SEPARATORS:
            return None
    return found.pop() if len(found) == 1 else None


def parse_temperature(text: str) -> Decimal | NotMeasured | None:
    """A body temperature in °C, ``NOT_MEASURED``, or None.

    Accepted: "38,5" (Chilean decimal comma), "38.5°", "38.5 C", "39", "tengo 38,5
    grados", "38,5º". Exactly one number, between 34 and 43 °C inclusive, with at most
    two decimals; anything else (Fahrenheit, "385", "38 o 39") is None so that the
    participant is asked again. A reply without digits that starts with "no"/"sin"
    ("no", "no tengo termómetro", "no la medí") is ``NOT_MEASURED``.
    """
    normalized = normalize_reply(text).replace("°", " ")
    numbers = _NUMBER_RE.findall(normalized)
    rest = _TOKEN_RE.findall(_NUMBER_RE.sub(" ", normalized))
    if not numbers:
        if rest and rest[0] in _NOT_MEASURED_LEADS:
            return NOT_MEASURED
        return None
    if len(numbers) != 1 or any(
        t not in _TEMPERATURE_FILLER and t not in _SEPARATORS for t in rest
    ):
        return None
    raw = numbers[0].replace(",", ".")
    if "." in raw and len(raw.split(".", 1)[1]) > 2:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return None
    if not MIN_PLAUSIBLE_C <= value <= MAX_PLAUSIBLE_C:
        return None
    return value


def parse_yes_no(text: str) -> bool | None:
    """SI / NO and their variants; "no estoy embarazada" is no, "sí, estoy" is yes.

    A bare "estoy embarazada" counts as yes: a pregnancy "yes" raises an alert and a
    coordinator calls, which is the safe side of a misreading.
    """
    keyword = classify_keyword(text)
    if keyword is Keyword.YES:
        return True
    if keyword is Keyword.NO:
        return False
    answers: set[bool] = set()
    words = _tokens(text)
    for word in words:
        kind = word_keyword(word)
        if kind is Keyword.YES:
            answers.add(True)
        elif kind is Keyword.NO:
            answers.add(False)
        elif word not in _YES_NO_FILLER and word not in _SEPARATORS:
            return None
    if not answers and "embarazada" in words:
        answers.add(True)
    return answers.pop() if len(answers) == 1 else None


SEVERITY_ANSWER_WORDS: Final = frozenset(_SEVERITY_WORDS)
"""Every single word :func:`parse_severity` maps to a severity (for the keyword test)."""
ANSWER_VOCABULARY: Final = frozenset(
    SEVERITY_ANSWER_WORDS
    | _SEVERITY_FILLER
    | _CHOICE_FILLER
    | _NEGATIONS
    | _TEMPERATURE_FILLER
    | _YES_NO_FILLER
    | _NOT_MEASURED_LEADS
)
"""Every word some parser here knows, answers and filler alike (for the keyword test)."""
