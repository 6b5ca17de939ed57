"""The words of a participant's message as the red-flag reader sees them.

Two jobs, both pure (the libraries only read the dictionaries they ship):

* :func:`tokenize` cuts a message into words, numbers, symbols (emoji) and the
  punctuation that separates what was said. Each token knows its sentence (cut at
  ``. ! ? ;`` and line breaks), its segment (a sentence cut again at a contrast:
  *pero, aunque, sino*) and its clause (a segment cut again at commas and colons),
  because a negation reaches only into its clause and a concept lies within one
  segment. Accents and capitals are dropped for matching (``plain``) but kept for
  the dictionary (``raw``); SMS shorthand ("q", "xq", "tng") is spelled out.
* :class:`Lexicon` says which words of the protocol's concepts a token may stand
  for: the same word, the same lemma (``simplemma``: "duele", "dolía" and "doler"
  are one verb), the same Snowball stem ("pechos", "pecho"), or, for a word no
  dictionary knows, the nearest concept word within one typo (two from ten letters:
  ``rapidfuzz``, optimal string alignment, so "resprar" is "respirar" and "aure" is
  "aire"). A word typed without its accent ("dolio") is looked up with one
  restored ("dolió") before it is called unknown. Typos are never assumed in a word
  the dictionary knows: "peso" is not "pecho".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import simplemma
import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = ["Lexicon", "Token", "plain_word", "tokenize"]

SENTENCE_MARKS: Final = frozenset(".!?;\n¿¡")
CLAUSE_MARKS: Final = frozenset(",:")
CONTRAST_WORDS: Final = frozenset({"pero", "aunque", "sino"})
# Dictation says its punctuation: "me cuesta respirar punto gracias".
SPOKEN_MARKS: Final = {"punto": ".", "coma": ","}
MIN_FUZZY_LETTERS: Final = 4
MIN_STEM_LETTERS: Final = 4

_TOKEN_RE: Final = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|[.!?;:,¿¡\n]|[^\s\w]", re.UNICODE)
_DEGREE: Final = re.compile("[°º˚]")
_ACCENTED: Final = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú"}
_STEMMER: Final = snowballstemmer.stemmer("spanish")


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``word`` is its ordinal among non-mark tokens (distances count words)."""

    index: int
    raw: str
    plain: str
    kind: str  # "word", "number", "symbol" or "mark"
    word: int
    sentence: int
    segment: int
    clause: int

    @property
    def is_mark(self) -> bool:
        return self.kind == "mark"


def plain_word(text: str) -> str:
    """Lower case without accents: "Pipí" -> "pipi", "guagüita" -> "guaguita"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _kind(piece: str) -> str:
    if piece[0].isdigit():
        return "number"
    if piece[0].isalpha():
        return "word"
    if piece in SENTENCE_MARKS or piece in CLAUSE_MARKS:
        return "mark"
    return "symbol"


def tokenize(text: str, shorthand: Mapping[str, str] = {}) -> list[Token]:
    """The message's tokens in order (see the module docstring)."""
    folded = _DEGREE.sub(" ° ", unicodedata.normalize("NFC", text).casefold())
    folded = folded.replace("\ufe0f", "")  # emoji variation selector
    pieces = _TOKEN_RE.findall(folded)
    tokens: list[Token] = []
    sentence = segment = clause = word = 0
    for n, piece in enumerate(pieces):
        kind = _kind(piece)
        plain = plain_word(piece) if kind == "word" else piece
        plain = shorthand.get(plain, plain)
        following = pieces[n + 1] if n + 1 < len(pieces) else ""
        if kind == "word" and plain in SPOKEN_MARKS and not following[:1].isdigit():
            kind, plain = "mark", SPOKEN_MARKS[plain]
        if kind == "mark":
            tokens.append(Token(n, piece, plain, kind, word, sentence, segment, clause))
            if plain in SENTENCE_MARKS:
                sentence, segment, clause = sentence + 1, segment + 1, clause + 1
            else:
                clause += 1
            continue
        if plain in CONTRAST_WORDS:
            segment, clause = segment + 1, clause + 1
        tokens.append(Token(n, piece, plain, kind, word, sentence, segment, clause))
        word += 1
    return tokens


@lru_cache(maxsize=65536)
def _lemma(raw: str) -> str:
    """The dictionary lemma, restoring one missing accent for a word not known as typed."""
    if simplemma.is_known(raw, lang="es"):
        return plain_word(simplemma.lemmatize(raw, lang="es"))
    for i, ch in enumerate(raw):
        accented = _ACCENTED.get(ch)
        if accented is None:
            continue
        candidate = raw[:i] + accented + raw[i + 1 :]
        if simplemma.is_known(candidate, lang="es"):
            return plain_word(simplemma.lemmatize(candidate, lang="es"))
    return ""


@lru_cache(maxsize=65536)
def _stem(plain: str) -> str:
    return str(_STEMMER.stemWord(plain)) if len(plain) >= MIN_STEM_LETTERS else ""


def _keys(raw: str, plain: str) -> tuple[str, ...]:
    keys = [f"p:{plain}"]
    lemma = _lemma(raw) or (_lemma(plain) if plain != raw else "")
    if lemma:
        keys.append(f"l:{lemma}")
    stem = _stem(plain)
    if stem:
        keys.append(f"s:{stem}")
    return tuple(keys)


class Lexicon:
    """Which concept words a token may stand for (module docstring)."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._words = sorted({plain_word(w) for w in vocabulary})
        self._index: dict[str, set[str]] | None = None  # built on first use: see warm()
        self._fuzzy_targets = [
            w for w in self._words if len(w) >= MIN_FUZZY_LETTERS and w.isalpha()
        ]
        self._cache: dict[tuple[str, str], frozenset[str]] = {}

    def warm(self) -> None:
        """Index the concept words by form. The first call in a process loads the Spanish
        dictionary (about half a second), so only a process that reads messages pays
        it, when it starts serving or at its first message."""
        if self._index is not None:
            return
        index: dict[str, set[str]] = {}
        for word in self._words:
            for key in _keys(word, word):
                index.setdefault(key, set()).add(word)
        self._index = index

    def meanings(self, token: Token) -> frozenset[str]:
        """The concept words ``token`` may be; empty for marks and unrelated words."""
        if token.kind in ("mark", "number"):
            return frozenset()
        self.warm()
        cache_key = (token.raw, token.plain)
        found = self._cache.get(cache_key)
        if found is None:
            found = self._look_up(token)
            if len(self._cache) < 100_000:
                self._cache[cache_key] = found
        return found

    def _look_up(self, token: Token) -> frozenset[str]:
        assert self._index is not None
        if token.kind == "symbol":
            return frozenset(self._index.get(f"p:{token.plain}", ()))
        raw = token.raw if plain_word(token.raw) == token.plain else token.plain
        found: set[str] = set()
        for key in _keys(raw, token.plain):
            found |= self._index.get(key, set())
        if found or not self._is_typo_candidate(raw, token.plain):
            return frozenset(found)
        limit = 2 if len(token.plain) >= 10 else 1
        best = process.extractOne(
            token.plain, self._fuzzy_targets, scorer=OSA.distance, score_cutoff=limit
        )
        return frozenset({best[0]}) if best is not None else frozenset()

    @staticmethod
    def _is_typo_candidate(raw: str, plain: str) -> bool:
        return len(plain) >= MIN_FUZZY_LETTERS and plain.isalpha() and not _lemma(raw)
