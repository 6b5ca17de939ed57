"""Concepts: how the protocol file says what a participant may write for a red flag.

A red flag is not a list of phrases but a few *patterns* the study team writes in
the protocol file (``says``, ``hints``, ``unless``; schedules/README.md has the
examples). One small syntax, read left to right:

* words separated by spaces are a **phrase**: in this order, each at most
  ``phrase_gap`` (default 1) other word after the previous one, within one clause
  ("no|casi orinar|pipi" finds "no he orinado", "casi no hago pipí");
* ``|`` gives **alternatives** for one word ("pecho|torax");
* `` + `` joins **parts that must all be near**: any order, at most ``near_words``
  (default 4) other words between one part and the next, within one segment of a
  sentence ("pecho|torax + doler|dolor|puntada" finds "me duele mucho el pecho",
  "el pecho me duele", "dolor en el centro del pecho").

Every word matches its forms (verbs in any person and tense, plurals) and, when
typed with a typo, the nearest concept word (:class:`~service.domain.free_text_words.Lexicon`).
A part must hold at least one word of 3+ letters (or an emoji) in every alternative
of some position, so that no pattern matches on "no" or "de" alone.

This module parses and checks patterns (the loader's messages) and finds them in a
tokenized message; what a match means is :mod:`service.domain.red_flags`' business.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise, product
from typing import Final

from service.domain.free_text_words import Lexicon, Token, plain_word

__all__ = [
    "Concept",
    "FreeText",
    "Match",
    "Pattern",
    "find",
    "parse_pattern",
    "pattern_problem",
]

MIN_ANCHOR_LETTERS: Final = 3


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of a phrase: any of ``words`` (plain forms)."""

    words: frozenset[str]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed pattern; ``text`` is as written in the protocol file."""

    text: str
    parts: tuple[tuple[Slot, ...], ...]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for part in self.parts for slot in part for w in slot.words)

    @property
    def canonical(self) -> tuple[tuple[tuple[str, ...], ...], ...]:
        """The same pattern however it was spaced or ordered (for duplicate checks)."""
        return tuple(
            sorted(tuple(tuple(sorted(slot.words)) for slot in part) for part in self.parts)
        )


@dataclass(frozen=True, slots=True)
class Concept:
    """How one red flag is written: ``says`` names it, ``hints`` suggest it (people
    read those), ``unless`` in the same segment means it is about something else."""

    says: tuple[Pattern, ...] = ()
    hints: tuple[Pattern, ...] = ()
    unless: tuple[Pattern, ...] = ()

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for p in (*self.says, *self.hints, *self.unless) for w in p.words)


@dataclass(frozen=True, slots=True)
class FreeText:
    """``[free_text]``: how scope is written (negation, questions, other people...)."""

    negation: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    question: tuple[str, ...] = ()
    hypothetical: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    first_person: tuple[str, ...] = ()
    shorthand: tuple[tuple[str, str], ...] = ()  # ("q", "que"): SMS spellings spelled out
    near_words: int = 4
    phrase_gap: int = 1

    @property
    def spelled_out(self) -> dict[str, str]:
        return dict(self.shorthand)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a pattern was found: first and last token index, and the tokens it used."""

    start: int
    end: int
    used: frozenset[int]


def pattern_problem(text: object) -> str | None:
    """Why ``text`` is not a usable pattern, or None."""
    if not isinstance(text, str) or not text.strip():
        return "each entry must be a non-empty string"
    try:
        parse_pattern(text)
    except ValueError as exc:
        return str(exc)
    return None


def parse_pattern(text: str) -> Pattern:
    """Parse the syntax of the module docstring; ValueError says what to fix."""
    parts: list[tuple[Slot, ...]] = []
    for n, raw_part in enumerate(text.split("+"), start=1):
        if not raw_part.strip():
            raise ValueError(f"{text!r}: part {n} is empty; write words on both sides of +")
        slots: list[Slot] = []
        for raw_slot in raw_part.split():
            words = [plain_word(w) for w in raw_slot.split("|")]
            if any(not w or any(ch.isspace() or ch.isdigit() for ch in w) for w in words):
                raise ValueError(
                    f"{text!r}: {raw_slot!r} has an empty or numeric alternative; "
                    'write words separated by | without spaces, e.g. "pecho|torax"'
                )
            slots.append(Slot(frozenset(words)))
        if not any(all(_anchors(w) for w in slot.words) for slot in slots):
            raise ValueError(
                f"{text!r}: part {raw_part.strip()!r} needs a word of "
                f"{MIN_ANCHOR_LETTERS}+ letters (in every alternative) to match safely"
            )
        parts.append(tuple(slots))
    return Pattern(text, tuple(parts))


def _anchors(word: str) -> bool:
    return len(word) >= MIN_ANCHOR_LETTERS or not any(ch.isalnum() for ch in word)


def _phrase(
    tokens: list[Token], meanings: list[frozenset[str]], slots: tuple[Slot, ...], gap: int
) -> Iterator[tuple[int, ...]]:
    """Every way the phrase ``slots`` occurs: the token indices it uses."""

    def extend(found: tuple[int, ...], k: int) -> Iterator[tuple[int, ...]]:
        if k == len(slots):
            yield found
            return
        last = tokens[found[-1]]
        for j in range(found[-1] + 1, len(tokens)):
            token = tokens[j]
            if token.clause != last.clause or token.word - last.word - 1 > gap:
                break
            if meanings[j] & slots[k].words:
                yield from extend((*found, j), k + 1)

    for i, words in enumerate(meanings):
        if words & slots[0].words:
            yield from extend((i,), 1)


def find(
    pattern: Pattern, tokens: list[Token], meanings: list[frozenset[str]], free_text: FreeText
) -> list[Match]:
    """Every place ``pattern`` occurs in the message (module docstring)."""
    found_parts = [
        list(_phrase(tokens, meanings, part, free_text.phrase_gap)) for part in pattern.parts
    ]
    if any(not found for found in found_parts):
        return []
    matches: set[Match] = set()
    for combination in product(*found_parts):
        used = [i for part in combination for i in part]
        if len(set(used)) != len(used):
            continue
        spans = sorted((part[0], part[-1]) for part in combination)
        if tokens[spans[0][0]].segment != tokens[spans[-1][1]].segment:
            continue
        gaps = (tokens[nxt[0]].word - tokens[prev[1]].word - 1 for prev, nxt in pairwise(spans))
        if all(0 <= gap <= free_text.near_words for gap in gaps):
            matches.add(Match(spans[0][0], spans[-1][1], frozenset(used)))
    return sorted(matches, key=lambda m: (m.start, m.end))


def lexicon_for(concepts: Iterable[Concept]) -> Lexicon:
    """The lexicon of every concept word (built once per protocol)."""
    words: set[str] = set()
    for concept in concepts:
        words |= concept.words
    return Lexicon(words)
