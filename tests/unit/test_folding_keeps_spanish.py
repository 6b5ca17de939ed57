"""Folding to GSM-7 changes spelling, never the word.

Folding turns á í ó ú into a i o u when that saves a segment. For most words that
is only lost spelling ("síntomas" -> "sintomas"), but for some it is another word:
"te llamará" (will call) -> "te llamara" (would call), "te indicó" (told you) ->
"te indico" (I tell you), "estás" (you are) -> "estas" (these), "más" -> "mas"
(but), "se cerró" -> "se cerro" (hill). This test lists every word that folding
changes in every catalog text (and in the dates Babel writes into them) and fails
on any not on the reviewed allow-list below; the texts are written around the others.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import date, timedelta

import pytest

from service.adapters.i18n import LANGUAGES, locales_dir, read_catalog
from service.domain.sms_encoding import fold_to_gsm
from service.domain.text_render import format_local_date

# Reviewed: each folds to a misspelling that no reader mistakes for another word.
SPELLING_ONLY: frozenset[str] = frozenset(
    {
        "actúa",
        "así",
        "atención",
        "avísale",
        "código",
        "cuál",
        "día",
        "escalofríos",
        "infusión",
        "márcala",
        "máxima",
        "náuseas",
        "número",
        "números",
        "participación",
        "sábado",
        "perdón",
        "selección",
        "síntomas",
        "volverás",
        "vómitos",
    }
)
# Words that must never be on the list above: folded, they are other Spanish words.
CHANGE_MEANING = ("llamará", "indicó", "estás", "está", "más", "cerró", "contactará", "tomó")


def folded_words() -> dict[str, set[str]]:
    """word (lower case) -> the message keys whose text folding changes it in."""
    found: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for message in read_catalog(locales_dir(), language):
            if not message.id or not isinstance(message.string, str):
                continue
            for word in re.findall(r"\w+", message.string):
                if fold_to_gsm(word) != word:
                    found.setdefault(word.lower(), set()).add(str(message.context))
    return found


def date_words() -> dict[str, set[str]]:
    """Words of the dates Babel writes into reminders ("sábado 6 de marzo"), a year's worth."""
    found: dict[str, set[str]] = {}
    for offset in range(366):
        for language in LANGUAGES:
            text = format_local_date(date(2027, 1, 1) + timedelta(days=offset), language)
            for word in re.findall(r"\w+", text):
                if fold_to_gsm(word) != word:
                    found.setdefault(word.lower(), set()).add("{date}")
    return found


def test_every_word_folding_changes_is_reviewed() -> None:
    changed = {**folded_words(), **date_words()}
    unreviewed = {w: sorted(keys) for w, keys in changed.items() if w not in SPELLING_ONLY}
    assert unreviewed == {}, f"folding changes these words; reword or review: {unreviewed}"


def test_the_allow_list_holds_only_words_still_in_use() -> None:
    assert set(folded_words()) | set(date_words()) >= SPELLING_ONLY


def test_the_allow_list_never_holds_a_word_that_folds_to_another_word() -> None:
    assert not SPELLING_ONLY & set(CHANGE_MEANING)


def test_post_infusion_is_said_in_spanish() -> None:
    texts = [m.string for m in read_catalog(locales_dir(), "es") if isinstance(m.string, str)]
    assert not [t for t in texts if "post infusi" in t.lower()]
    assert any("tras la infusión" in t for t in texts)


def _visible_characters() -> list[str]:
    chars = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cn", "Co", "Mn", "Me"):
            continue
        chars.append(char)
    return chars


def test_folding_never_turns_a_visible_character_into_a_bare_space() -> None:
    # The degree sign is dropped on purpose (module docstring of sms_encoding).
    blanked = [c for c in _visible_characters() if fold_to_gsm(c).isspace()]
    assert blanked == [], [f"U+{ord(c):04X}" for c in blanked[:20]]


@pytest.mark.parametrize("accent", ["¨", "¸", "˜", "¯", "˘", "˙", "˚", "˛", "˝"])
def test_spacing_accents_are_kept_not_blanked(accent: str) -> None:
    assert fold_to_gsm(f"a{accent}b") == f"a{accent}b"
