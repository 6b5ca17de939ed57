"""How many SMS segments a text costs, and how to make it cost fewer.

Why this matters: carriers bill per segment, and a long message arrives as several
parts that some handsets show out of order. A text made only of GSM 03.38 characters
travels as 7-bit septets (160 in one SMS, 153 per part once concatenated, the rest
being the concatenation header). One character outside that alphabet, a single "á",
switches the *whole* message to UCS-2: 70 UTF-16 code units in one SMS, 67 per part.
Spanish loses most of its accents to that rule (é, ñ, ü, ¿ and ¡ are GSM-7; á, í, ó,
ú are not), so folding á→a can halve the bill, and :func:`prepare_for_sms` does it
only when it actually saves a segment.

Counting rules implemented here:

* GSM-7 basic set: 1 septet per character; extension table (``\\f ^ { } \\ [ ~ ] | €``):
  2 septets (escape + code). UCS-2: UTF-16 code units (an emoji counts 2).
* Parts are filled greedily and a 2-unit character (GSM escape pair, UTF-16 surrogate
  pair) is never split across parts, as handsets and SMSCs do; that can add a part
  compared with a plain ``ceil(units / 153)``.
* An empty text costs 0 segments (there is nothing to send).

Folding (:func:`fold_to_gsm`), chosen for Spanish clinical SMS:

* Letters with marks outside GSM-7 lose the mark (á→a, Á→A, í→i, ô→o, ç→c ...); letters
  that GSM-7 has (é, É, ñ, Ñ, ü, Ü, à, è, ì, ò, ù, Ç ...) are kept as they are.
* Typographic punctuation becomes its plain form: curly quotes and « » → ' or ",
  dashes and the minus sign → -, … → ..., no-break and narrow spaces → space.
* The degree sign is dropped ("38 °C" → "38 C"): the unit letter keeps the meaning,
  and "o" or a space would read as a typo.
* Anything without a plain GSM-7 form (emoji, most non-Latin scripts) is left alone,
  so the text stays UCS-2 rather than losing information. That includes the spacing
  accents (¨ ¸ ˜ ¯ ˘ ...): NFKD makes them a space plus a combining mark, and a
  visible character never folds to a bare space.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]
GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# GSM 03.38 default alphabet, code points 0x00..0x7F in order; 0x1B (escape) omitted.
GSM7_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table (each sent as escape + code: 2 septets).
GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE: Final = 160
GSM7_PART: Final = 153
UCS2_SINGLE: Final = 70
UCS2_PART: Final = 67

_FOLD_EXPLICIT: Final[dict[str, str]] = {
    # quotes and apostrophes
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    # dashes, minus, bullets
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2022": "-",
    # spacing and invisible characters
    "\t": " ",
    "\u200b": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    # the degree sign: see module docstring
    "\u00b0": "",
}


@dataclass(frozen=True, slots=True)
class SmsEncoding:
    """What one SMS body costs.

    ``units`` are septets for GSM-7 (extension characters count 2) and UTF-16 code
    units for UCS-2; ``characters`` is ``len(text)`` (code points).
    """

    encoding: Encoding
    segments: int
    units: int
    characters: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _gsm7_costs(text: str) -> list[int]:
    return [2 if c in GSM7_EXTENSION else 1 for c in text]


def _ucs2_costs(text: str) -> list[int]:
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _count_segments(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:  # a 2-unit character never straddles two parts
            segments += 1
            used = 0
        used += cost
    return segments


def analyze(text: str) -> SmsEncoding:
    """Encoding, segment count and length of ``text`` exactly as given."""
    if is_gsm7(text):
        costs = _gsm7_costs(text)
        return SmsEncoding(
            GSM7, _count_segments(costs, GSM7_SINGLE, GSM7_PART), sum(costs), len(text)
        )
    costs = _ucs2_costs(text)
    return SmsEncoding(UCS2, _count_segments(costs, UCS2_SINGLE, UCS2_PART), sum(costs), len(text))


def _fold_char(char: str) -> str:
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    if char in _FOLD_EXPLICIT:
        return _FOLD_EXPLICIT[char]
    decomposed = unicodedata.normalize("NFKD", char)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    if (plain.strip() or char.isspace()) and is_gsm7(plain):
        return plain
    return char  # includes spacing accents (¨ ¸ ˜ ...), whose NFKD is a bare space


def fold_to_gsm(text: str) -> str:
    """Replace what has a plain GSM-7 form by that form; keep everything else.

    The text is NFC-normalised first so that a decomposed "é" (e + combining acute),
    which GSM-7 has precomposed, is kept rather than stripped to "e".
    """
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFC", text))


def prepare_for_sms(text: str, fold: bool = True) -> tuple[str, SmsEncoding]:
    """The body to send and what it costs.

    With ``fold`` (the service default), letters outside GSM-7 are folded to their
    plain forms only when that saves at least one segment: accents are kept whenever
    they are free. The text is NFC-normalised either way (it never changes meaning
    and can only make the text cheaper).
    """
    text = unicodedata.normalize("NFC", text)
    original = analyze(text)
    if not fold or original.encoding == GSM7:
        return text, original
    folded = fold_to_gsm(text)
    cost = analyze(folded)
    if folded and cost.segments < original.segments:  # never fold a text away to nothing
        return folded, cost
    return text, original
