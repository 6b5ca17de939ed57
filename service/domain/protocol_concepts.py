"""Protocol-file keys that say how red flags are written in free text.

``says``/``hints``/``unless`` of a ``[[symptoms]]`` entry, ``pregnancy_says``/
``pregnancy_hints``/``pregnancy_unless`` of ``[safety]`` and the
``[safety.free_text]`` table (negation, resolution, questions, hypotheticals, other
people, the first person, SMS shorthand). Checked the loader's way: every fault
names the file, the entry, the key and the fix. The syntax is
:mod:`service.domain.concepts`'; the examples are in schedules/README.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, NoReturn

from service.domain.concepts import Concept, FreeText, Pattern, parse_pattern
from service.domain.free_text_words import plain_word
from service.domain.protocol import SafetyRules, Symptom
from service.domain.protocol_extras import Entry

__all__ = ["FREE_TEXT_KEYS", "check_unique_concepts", "concept", "free_text"]

CONCEPT_KEYS: Final = ("says", "hints", "unless")
FREE_TEXT_LISTS: Final = (
    "negation",
    "resolved",
    "question",
    "hypothetical",
    "others",
    "first_person",
)
FREE_TEXT_KEYS: Final = (*FREE_TEXT_LISTS, "shorthand", "near_words", "phrase_gap")


def _patterns(e: Entry, key: str) -> tuple[Pattern, ...]:
    value = e.table.get(key, [])
    if not isinstance(value, list):
        e.fail(f'{key} must be a list of patterns, e.g. {key} = ["pecho + doler|dolor"]')
    found: list[Pattern] = []
    for n, text in enumerate(value, start=1):
        if not isinstance(text, str) or not text.strip():
            e.fail(f"{key}[{n}] must be a non-empty string")
        try:
            found.append(parse_pattern(text))
        except ValueError as exc:
            e.fail(f"{key}[{n}]: {exc}")
    return tuple(found)


def concept(e: Entry, prefix: str = "") -> Concept | None:
    """The concept of a symptom (``says``...) or of pregnancy (``pregnancy_says``...)."""
    keys = [f"{prefix}{key}" for key in CONCEPT_KEYS]
    if not any(key in e.table for key in keys):
        return None
    says, hints, unless = (_patterns(e, key) for key in keys)
    if unless and not (says or hints):
        e.fail(f"{keys[2]} has nothing to cancel: add {keys[0]} or {keys[1]}")
    return Concept(says=says, hints=hints, unless=unless)


def _words(e: Entry, key: str) -> tuple[str, ...]:
    value = e.table.get(key)
    if not isinstance(value, list) or not value:
        e.fail(f'{key} must be a non-empty list of words or phrases, e.g. {key} = ["no", "sin"]')
    for n, item in enumerate(value, start=1):
        if not isinstance(item, str) or not item.strip():
            e.fail(f"{key}[{n}] must be a non-empty string")
        if any(ch.isdigit() or ch in "|+" for ch in item):
            e.fail(f"{key}[{n}] {item!r}: plain words only (no digits, | or +)")
    return tuple(value)


def _shorthand(e: Entry) -> tuple[tuple[str, str], ...]:
    value = e.table.get("shorthand", {})
    if not isinstance(value, dict):
        e.fail('shorthand must be a table of spellings, e.g. shorthand = { q = "que" }')
    result: dict[str, str] = {}
    for short, full in value.items():
        if not isinstance(full, str) or not full.strip() or " " in full.strip():
            e.fail(f'shorthand "{short}" must stand for one word, e.g. {{ q = "que" }}')
        result[plain_word(short)] = plain_word(full.strip())
    return tuple(sorted(result.items()))


def free_text(e: Entry) -> FreeText:
    """``[safety.free_text]``."""
    e.check_keys(required=FREE_TEXT_LISTS, optional=("shorthand", "near_words", "phrase_gap"))
    near = e.integer("near_words", minimum=1, default=4)
    gap = e.integer("phrase_gap", minimum=0, default=1)
    if near > 8:
        e.fail(
            f"near_words must be at most 8 (farther words are rarely about each other), got {near}"
        )
    if gap > 4:
        e.fail(f"phrase_gap must be at most 4, got {gap}")
    lists: dict[str, Any] = {key: _words(e, key) for key in FREE_TEXT_LISTS}
    return FreeText(**lists, shorthand=_shorthand(e), near_words=near, phrase_gap=gap)


def check_unique_concepts(
    symptoms: Iterable[Symptom], safety: SafetyRules, fail: Callable[[str, str], NoReturn]
) -> None:
    """One pattern names one red flag: the same pattern under two is refused, and
    patterns need ``[safety.free_text]`` to be read in scope."""
    owners: dict[object, str] = {}
    named = [(f"symptoms ({s.code})", s.concept) for s in symptoms]
    anything = False
    for name, found in [*named, ("safety (pregnancy)", safety.pregnancy)]:
        if found is None:
            continue
        anything = True
        for pattern in (*found.says, *found.hints):
            if owners.setdefault(pattern.canonical, name) != name:
                fail(
                    name,
                    f"pattern {pattern.text!r} is already listed under {owners[pattern.canonical]}",
                )
    if anything and safety.free_text is None:
        fail(
            "safety",
            "says/hints patterns need a [safety.free_text] table (how negation, questions "
            "and other people are written); see schedules/README.md",
        )
