"""Red flags in an SMS sent outside a dialogue: "estoy embarazada", "dolor de pecho".

A participant who learns she is pregnant, or has chest pain on a Tuesday, writes it
when it happens, not when the weekly check-in asks. Such a message must raise the
same alert the check-in would. The phrases live in the protocol file
(``report_phrases`` of a ``[[symptoms]]`` entry, ``pregnancy_phrases`` in
``[safety]``), so the study team owns them; this module only matches them.

Matching, chosen for how people type on a phone:

* Both sides are brought to plain words (:func:`service.domain.keywords.reply_words`:
  no accents, no capitals, no punctuation), and small words ("de", "el", "al",
  "me" ...) are dropped from both, so "dolor de pecho", "dolor al pecho" and
  "DOLOR EN EL PECHO!!" are one phrase.
* A word of 5+ letters may carry one typo (insertion, deletion, substitution or two
  swapped letters: "embarasada", "pehco"); 10+ letters, two. Shorter words must match.
* A phrase preceded (within three words) by a negation ("no", "sin", "nunca", "ni",
  "tampoco") does not count: "no tengo fiebre", "no estoy embarazada". A phrase may
  itself start with one ("no puedo respirar").
* For a symptom that asks a temperature, one number between 34 and 43 in the message
  ("fiebre 39", "38,5 de fiebre") is its temperature.

The result is a report for the same safety rules as a check-in; whether it alerts is
theirs to say (a bare "fiebre" without a temperature does not, and then the message
goes to the coordinators' queue like any other). Misreading here errs on the side of
a phone call from the team, never on the side of silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from service.domain.checkin_answers import PregnancyAnswer, ReportedSymptom, SymptomAnswers
from service.domain.keywords import normalize_reply, reply_words
from service.domain.protocol import SafetyRules, Symptom
from service.domain.replies import MAX_PLAUSIBLE_C, MIN_PLAUSIBLE_C

SMALL_WORDS: Final = frozenset(
    {"a", "al", "de", "del", "el", "en", "la", "las", "lo", "los", "me", "mi", "un", "una", "y"}
)
NEGATIONS: Final = frozenset({"no", "sin", "nunca", "ni", "tampoco", "nada"})
NEGATION_REACH: Final = 3
_NUMBER_RE: Final = re.compile(r"(?<![0-9])([0-9]{2})(?:[.,]([0-9]))?(?![0-9])")


@dataclass(frozen=True, slots=True)
class Report:
    """What an SMS reports on its own: symptoms (unrated) and/or a pregnancy."""

    symptoms: SymptomAnswers | None = None
    pregnancy: PregnancyAnswer | None = None


def phrase_words(phrase: str) -> tuple[str, ...]:
    """The words of a phrase that are matched (small words dropped)."""
    return tuple(w for w in reply_words(phrase) if w not in SMALL_WORDS)


def phrase_problem(phrase: object) -> str | None:
    """Why a protocol phrase cannot be used, or None (for the loader's messages)."""
    if not isinstance(phrase, str) or not phrase.strip():
        return "each phrase must be a non-empty string"
    words = phrase_words(phrase)
    if not words:
        return f"phrase {phrase!r} has no word left to match once small words are dropped"
    if all(len(w) < 4 for w in words):
        return f"phrase {phrase!r} is too short to match safely (a word of 4+ letters needed)"
    return None


def _typos_allowed(word: str) -> int:
    return 2 if len(word) >= 10 else 1 if len(word) >= 5 else 0


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours costs 1), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _same_word(typed: str, wanted: str) -> bool:
    if typed == wanted:
        return True
    allowed = _typos_allowed(wanted)
    return allowed > 0 and _distance(typed, wanted, allowed) <= allowed


def mentions(text: str, phrases: Iterable[str]) -> bool:
    """True when ``text`` holds one of ``phrases``, not negated (module docstring)."""
    words = reply_words(text)
    content = [(i, w) for i, w in enumerate(words) if w not in SMALL_WORDS]
    for phrase in phrases:
        wanted = phrase_words(phrase)
        for start in range(len(content) - len(wanted) + 1):
            window = content[start : start + len(wanted)]
            if not all(_same_word(typed, w) for (_, typed), w in zip(window, wanted, strict=True)):
                continue
            first = window[0][0]
            if not any(w in NEGATIONS for w in words[max(0, first - NEGATION_REACH) : first]):
                return True
    return False


def _temperature(text: str) -> float | None:
    numbers = _NUMBER_RE.findall(normalize_reply(text))
    found = [Decimal(f"{whole}.{tenth or 0}") for whole, tenth in numbers]
    plausible = [t for t in found if MIN_PLAUSIBLE_C <= t <= MAX_PLAUSIBLE_C]
    return float(plausible[0]) if len(plausible) == 1 else None


def detect_report(text: str, symptoms: Sequence[Symptom], rules: SafetyRules) -> Report | None:
    """The symptoms and pregnancy an out-of-dialogue SMS reports, or None."""
    reported = tuple(
        ReportedSymptom(
            symptom.code,
            None,
            _temperature(text) if symptom.asks_temperature else None,
        )
        for symptom in symptoms
        if symptom.report_phrases and mentions(text, symptom.report_phrases)
    )
    pregnant = bool(rules.pregnancy_phrases) and mentions(text, rules.pregnancy_phrases)
    if not reported and not pregnant:
        return None
    return Report(
        symptoms=SymptomAnswers(reported, complete=False) if reported else None,
        pregnancy=PregnancyAnswer(True) if pregnant else None,
    )
