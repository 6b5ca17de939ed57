"""The Spanish catalogs pass a Spanish spell check.

Every Spanish ``msgstr`` of the SMS catalog and the dashboard's is checked word by word
with Debian's Chilean Spanish hunspell dictionary (``hunspell-es``, es_CL) through
``spylls``, a pure-Python hunspell. Placeholders, e-mail addresses, acronyms (all
capitals or inner capitals: SMS, REDCap) and the abbreviation "p. ej." are left out;
names and the few words the dictionary lacks are in tests/fixtures/spanish_words.txt,
each with its reason. So "check-ins" or "p95" in a coordinator's page fails here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = Path("/usr/share/hunspell/es_CL")
CATALOGS = [
    ROOT / "locales/es/LC_MESSAGES/messages.po",
    ROOT / "locales/es/LC_MESSAGES/dashboard.po",
]
_WORD = re.compile(r"[^\W\d_]+")
_LETTERS_AND_DIGITS = re.compile(r"\b[a-z]+\d+\b")  # "p50", "p95"; not visit codes (M1)
_NOT_WORDS = re.compile(r"\{[^}]*\}|%\([^)]*\)[sd]|%[sd]|https?://\S+|\S+@\S+|\bp\. ej\.")


def project_words() -> frozenset[str]:
    text = (ROOT / "tests/fixtures/spanish_words.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(line for line in lines if line)


@cache
def _dictionary():  # type: ignore[no-untyped-def]  # spylls has no type hints
    if not DICTIONARY.with_suffix(".dic").exists():
        pytest.fail(f"{DICTIONARY}.dic is missing: install Debian's hunspell-es (.ci/run does)")
    from spylls.hunspell import Dictionary  # type: ignore[import-untyped]  # no stubs

    return Dictionary.from_files(str(DICTIONARY))


def _words(text: str) -> list[str]:
    words = _WORD.findall(_NOT_WORDS.sub(" ", text))
    return [w for w in words if not (w.isupper() or any(c.isupper() for c in w[1:]))]


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: p.name)
def test_the_spanish_catalog_is_spelled_in_spanish(catalog: Path) -> None:
    dictionary = _dictionary()
    allowed = project_words()
    with catalog.open("rb") as handle:
        messages = [m for m in read_po(handle) if m.id]
    wrong: dict[str, str] = {}
    for message in messages:
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        for text in strings:
            for code in _LETTERS_AND_DIGITS.findall(text or ""):
                wrong.setdefault(code, str(message.id)[:60])
            for word in _words(text or ""):
                if word in allowed or word.lower() in allowed:
                    continue
                if not (dictionary.lookup(word) or dictionary.lookup(word.lower())):
                    wrong.setdefault(word, str(message.id)[:60])
    assert wrong == {}, "not Spanish (word: the message it is in):\n" + "\n".join(
        f"  {w}: {where}" for w, where in sorted(wrong.items())
    )


def test_the_check_catches_what_it_is_for() -> None:
    dictionary = _dictionary()
    for english in ("check", "ins", "token", "replanificados"):
        assert not dictionary.lookup(english), english
    assert _words("Retraso {minutes} ana@uandes.cl p. ej. SMS REDCap") == ["Retraso"]
    assert _LETTERS_AND_DIGITS.findall("mediana (p50), p95, 38,5 y CALL1") == ["p50", "p95"]
