"""BASELINE for bench_red_flags: the red-flag matching the service used before concepts.

A frozen copy of the old ``service.domain.red_flags`` (exact phrases with a typo
allowance, a negation within three words before, the one plausible number of a
message as the temperature) with the phrase lists the protocol file held then. It
is kept here only so the benchmark can measure the new reader against it in the same
run; nothing in the service uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from service.domain.keywords import normalize_reply, reply_words

SMALL_WORDS: Final = frozenset(
    {"a", "al", "de", "del", "el", "en", "la", "las", "lo", "los", "me", "mi", "un", "una", "y"}
)
NEGATIONS: Final = frozenset({"no", "sin", "nunca", "ni", "tampoco", "nada"})
NEGATION_REACH: Final = 3
_NUMBER_RE: Final = re.compile(r"(?<![0-9])([0-9]{2})(?:[.,]([0-9]))?(?![0-9])")
MIN_PLAUSIBLE_C: Final = Decimal("34")
MAX_PLAUSIBLE_C: Final = Decimal("43")

# The protocol file's report_phrases / pregnancy_phrases as they were.
PHRASES: Final = {
    "fever": ("fiebre", "afiebrada", "afiebrado", "temperatura alta", "calentura"),
    "shortness_of_breath": (
        "me falta el aire",
        "falta de aire",
        "no puedo respirar",
        "me cuesta respirar",
        "me ahogo",
        "ahogo",
        "dificultad para respirar",
    ),
    "chest_pain": (
        "dolor de pecho",
        "dolor en el pecho",
        "dolor al pecho",
        "me duele el pecho",
        "puntada en el pecho",
        "presion en el pecho",
        "opresion en el pecho",
    ),
    "less_urine": ("casi no orino", "orino poco", "no he orinado", "no puedo orinar"),
    "pregnancy": (
        "estoy embarazada",
        "embarazada",
        "embarazo",
        "quede embarazada",
        "test de embarazo positivo",
        "prueba de embarazo positiva",
    ),
}
RED_FLAGS: Final = frozenset({"shortness_of_breath", "chest_pain", "less_urine", "pregnancy"})


def phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in reply_words(phrase) if w not in SMALL_WORDS)


def _typos_allowed(word: str) -> int:
    return 2 if len(word) >= 10 else 1 if len(word) >= 5 else 0


def _distance(a: str, b: str, limit: int) -> int:
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


def _temperature(text: str) -> Decimal | None:
    numbers = _NUMBER_RE.findall(normalize_reply(text))
    found = [Decimal(f"{whole}.{tenth or 0}") for whole, tenth in numbers]
    plausible = [t for t in found if MIN_PLAUSIBLE_C <= t <= MAX_PLAUSIBLE_C]
    return plausible[0] if len(plausible) == 1 else None


def baseline_read(text: str, fever_threshold_c: Decimal) -> tuple[tuple[str, ...], bool]:
    """(red flags that alert, whether any phrase matched at all), as the service did."""
    matched = [code for code, phrases in PHRASES.items() if mentions(text, phrases)]
    alerting = []
    for code in matched:
        if code in RED_FLAGS:
            alerting.append(code)
        elif code == "fever":
            temperature = _temperature(text)
            if temperature is not None and temperature >= fever_threshold_c:
                alerting.append(code)
    return tuple(alerting), bool(matched)
