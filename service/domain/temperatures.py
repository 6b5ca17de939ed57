"""Body temperatures as participants write them in a message of their own.

"38,5", "38.5", "38 5", "38°", "38 coma 5" (dictated), "38 y medio", "38 y algo",
"treinta y ocho", "treinta y nueve y medio", "casi 38", "385" (a lost comma). Each
becomes a :class:`Reading` with the range it allows, so the protocol's threshold
judges it: "38 y algo" is above 38, "casi 38" below, "37 y algo" against a threshold
of 37.5 is unclear, and so is "385" or "38 o 37".

When is a number a temperature? Always with a decimal part, a degree sign or a
spoken decimal, between 34 and 43; a whole number (or one in words) there too when
nothing follows it in its clause ("tengo 38", "amaneció con 39, ...") or the
sentence names fever (a word of the fever concept: "fiebre 39", "me dio 38 de
temperatura"). Never when a unit follows: "tengo 38 años", "llevo 38 días".
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from service.domain.free_text_words import Token

__all__ = ["Reading", "read_temperatures"]

LOWEST: Final = Decimal("34")
HIGHEST: Final = Decimal("43")
TENTH: Final = Decimal("0.1")
UNITS: Final = frozenset(
    {
        "anos", "ano", "dias", "dia", "semanas", "semana", "meses", "mes", "horas", "hora",
        "hrs", "hr", "minutos", "minuto", "min", "segundos", "kilos", "kilo", "kg", "gramos",
        "mg", "ml", "litros", "cm", "metros", "cuadras", "pesos", "lucas", "mil", "veces",
        "pastillas", "comprimidos", "personas", "numero",
    }
)  # fmt: skip
_TENS: Final = {"treinta": 30, "cuarenta": 40}
_UNITS_WORDS: Final = {
    "uno": 1, "un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "cero": 0,
}  # fmt: skip
_SOMETHING: Final = frozenset({"algo", "tanto", "pico", "poco"})
_SPOKEN_DECIMAL: Final = frozenset({"coma", "punto", ",", "."})


@dataclass(frozen=True, slots=True)
class Reading:
    """A temperature: at least ``low``, at most ``high`` °C; ``clear`` is False when
    the writing leaves it open ("385", "38 o 37"). Tokens ``start``..``end``."""

    start: int
    end: int
    low: Decimal
    high: Decimal
    clear: bool = True

    def judged(self, threshold: Decimal) -> bool | None:
        """True at or above the threshold, False below it, None when it cannot say."""
        if not self.clear:
            return None
        if self.low >= threshold:
            return True
        if self.high < threshold:
            return False
        return None


def _word_number(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """ "treinta y ocho" -> (38, last index)."""
    tens = _TENS.get(tokens[i].plain)
    if tens is None:
        return None
    if i + 2 < len(tokens) and tokens[i + 1].plain == "y":
        unit = _UNITS_WORDS.get(tokens[i + 2].plain)
        if unit is not None:
            return tens + unit, i + 2
    return tens, i


def _digit_value(token: Token) -> int | None:
    if token.kind == "number" and token.plain.isdigit() and len(token.plain) == 1:
        return int(token.plain)
    return _UNITS_WORDS.get(token.plain)


def _whole(tokens: list[Token], i: int) -> tuple[Decimal, int, bool] | None:
    """The number at ``i``: value, last index, and whether it has a decimal part."""
    token = tokens[i]
    if token.kind == "number":
        text = token.plain.replace(",", ".")
        return Decimal(text), i, "." in text
    found = _word_number(tokens, i)
    return (Decimal(found[0]), found[1], False) if found else None


def _decimals(tokens: list[Token], value: Decimal, end: int) -> tuple[Decimal, Decimal, int, bool]:
    """Extend a whole number with what follows it: low, high, last index, spoken decimal."""
    nxt = tokens[end + 1] if end + 1 < len(tokens) else None
    after = tokens[end + 2] if end + 2 < len(tokens) else None
    if nxt is not None and nxt.plain in _SPOKEN_DECIMAL and after is not None:
        digit = _digit_value(after)
        if digit is not None:
            exact = value + Decimal(digit) / 10
            return exact, exact, end + 2, True
    if nxt is not None and nxt.plain == "y" and after is not None:
        if after.plain == "medio":
            return value + Decimal("0.5"), value + Decimal("0.5"), end + 2, True
        if after.plain in _SOMETHING:
            return value + TENTH, value + Decimal("0.9"), end + 2, True
    digit = _digit_value(nxt) if nxt is not None and nxt.kind == "number" else None
    if digit is not None:  # "38 5"
        exact = value + Decimal(digit) / 10
        return exact, exact, end + 1, True
    return value, value, end, False


def _followed_by_nothing(tokens: list[Token], end: int) -> bool:
    nxt = tokens[end + 1] if end + 1 < len(tokens) else None
    return nxt is None or nxt.is_mark or nxt.plain in ("y", "°", "grados", "c")


def _named_fever(tokens: list[Token], end: int, fever_words: Collection[str]) -> bool:
    sentence = tokens[end].sentence
    return any(t.sentence == sentence and t.plain in fever_words for t in tokens)


def _unit_follows(tokens: list[Token], end: int) -> bool:
    nxt = tokens[end + 1] if end + 1 < len(tokens) else None
    return nxt is not None and nxt.plain in UNITS


def read_temperatures(tokens: list[Token], fever_words: Collection[str]) -> list[Reading]:
    """Every temperature in the message (module docstring); ``fever_words`` are the
    plain words that name fever (the fever concept's, already folded to lemmas by the
    caller where it wants)."""
    readings: list[Reading] = []
    i = 0
    while i < len(tokens):
        whole = _whole(tokens, i)
        if whole is None:
            i += 1
            continue
        value, end, has_decimal = whole
        if tokens[i].kind == "number" and not has_decimal and 340 <= value <= 439:
            if _followed_by_nothing(tokens, end) or _named_fever(tokens, end, fever_words):
                readings.append(Reading(i, end, value / 10, value / 10, clear=False))
            i = end + 1
            continue
        low, high, end, decimal_written = _decimals(tokens, value, end)
        degree = end + 1 < len(tokens) and tokens[end + 1].plain == "°"
        plausible = LOWEST <= low <= HIGHEST
        looks_like = has_decimal or decimal_written or degree
        if (
            plausible
            and not _unit_follows(tokens, end)
            and (
                looks_like
                or _followed_by_nothing(tokens, end)
                or _named_fever(tokens, end, fever_words)
            )
        ):
            start = i - 1 if i > 0 and tokens[i - 1].plain == "casi" else i
            if start != i:
                low, high = low - Decimal("0.5"), low - TENTH
            readings.append(Reading(start, end, low, min(high, HIGHEST)))
        i = end + 1
    return _alternatives_unclear(tokens, readings)


def _alternatives_unclear(tokens: list[Token], readings: list[Reading]) -> list[Reading]:
    """ "38 o 37": two readings joined by "o" leave the temperature open."""
    result = list(readings)
    for n in range(len(result) - 1):
        first, second = result[n], result[n + 1]
        between = [t.plain for t in tokens[first.end + 1 : second.start]]
        if between in (["o"], ["u"]):
            result[n] = Reading(first.start, first.end, first.low, first.high, clear=False)
            result[n + 1] = Reading(second.start, second.end, second.low, second.high, False)
    return result
