"""Scope: whether a red flag found in a message is the participant's, now, for real.

A concept found in a message (:mod:`service.domain.concepts`) is an alert only when
nothing around it takes it away. The words that do are the protocol's
``[free_text]`` lists (schedules/README.md), read with these rules:

* **Negated**: a ``negation`` word ("no", "sin", "nunca", "nada de") within three
  words before it in its clause ("no tengo dolor de pecho", "ya no me falta el
  aire"), inside it ("el pecho no me duele"), or right after it at the end of its
  clause ("fiebre no, solo tos"). A negation the concept itself uses ("no puedo
  respirar", "casi no orino") is part of the concept, not of its scope.
* **Resolved**: a ``resolved`` phrase ("se me pasó", "se fue", "salió negativo",
  "ya estoy bien") applies to the red flag it is nearest to: the next one it
  introduces ("ya se me pasó el dolor de pecho", "se me fue la fiebre, ayer tenía
  38,5") up to a contrast ("pero hoy de nuevo 38,5" still alerts), or else the last
  one before it in the sentence ("me dolía el pecho pero ya se me quitó"). A
  resolution itself negated ("no se me quita") resolves nothing.
* **A question**: the clause ends with "?" and either a ``question`` opener comes
  before the concept ("¿es normal que me duela el pecho?", "puedo quedar
  embarazada?") or nothing in it speaks in the first person ("la falta de aire es
  un efecto de los remedios?"). "me duele el pecho, ¿qué hago?" is a report: the
  question is a clause of its own. **A hypothetical**: a ``hypothetical`` word
  before it in its clause ("si me da fiebre de 38...", "en caso de fiebre"). A
  message that *starts* with "si" and asks nothing is read as "sí" (yes).
* **Someone else**: one of ``others`` ("mi hija", "mi papá", "el niño") before it in
  its segment, with no ``first_person`` word ("me", "yo", "tengo") between them:
  "a mi mamá le duele el pecho" is the mother's, "estoy con mi hija en la urgencia
  porque me duele el pecho" is the participant's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from service.domain.concepts import FreeText
from service.domain.free_text_words import Token, plain_word

__all__ = ["Heard", "ScopeReader", "Span"]

NEGATION_REACH: Final = 3
RESOLVES_NEXT_WITHIN: Final = 6
RESOLVES_LAST_WITHIN: Final = 10
# Words that may open a message before a "sí": "hola si me duele el pecho".
GREETINGS: Final = frozenset(
    {
        "hola", "ola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches",
        "doctora", "doctor", "dra", "dr", "senorita", "enfermera", "senora", "senor",
        "estimada", "estimado",
    }
)  # fmt: skip


class Heard(StrEnum):
    """What a red flag in a message turned out to be; the first five reach people."""

    SAID = "said"  # clear, current, the participant's own
    NEGATED = "negated"  # negated or resolved
    QUESTION = "question"  # a question or a hypothetical
    SOMEONE_ELSE = "someone_else"
    UNCLEAR = "unclear"  # only hinted, or a fever without a temperature
    BELOW_THRESHOLD = "below_threshold"  # a temperature under the protocol's threshold


@dataclass(frozen=True, slots=True)
class Span:
    """Tokens ``start``..``end`` of one mention; ``used`` are the concept's own."""

    start: int
    end: int
    used: frozenset[int]


Phrase = tuple[str, ...]


def _phrases(entries: Iterable[str], shorthand: dict[str, str]) -> PhraseSet:
    return PhraseSet(
        tuple(shorthand.get(w, w) for w in plain_word(entry).split()) for entry in entries
    )


class ScopeReader:
    """The ``[free_text]`` lists compiled once, applied to one message at a time."""

    def __init__(self, free_text: FreeText) -> None:
        short = free_text.spelled_out
        self.negation = _phrases(free_text.negation, short)
        self.resolved = _phrases(free_text.resolved, short)
        self.question = _phrases(free_text.question, short)
        self.hypothetical = _phrases(free_text.hypothetical, short)
        self.others = _phrases(free_text.others, short)
        self.first_person = frozenset(
            w for ph in _phrases(free_text.first_person, short).phrases for w in ph
        )
        self.negation_words = frozenset(p[0] for p in self.negation.phrases if len(p) == 1)

    # ---- one mention --------------------------------------------------------------

    def judge(self, tokens: Sequence[Token], span: Span) -> Heard | None:
        """QUESTION, SOMEONE_ELSE or NEGATED when its surroundings say so, else None."""
        if self._question(tokens, span):
            return Heard.QUESTION
        if self._someone_else(tokens, span):
            return Heard.SOMEONE_ELSE
        if self._negated(tokens, span):
            return Heard.NEGATED
        return None

    def _negated(self, tokens: Sequence[Token], span: Span) -> bool:
        first = tokens[span.start]
        for start, end in self.negation.occurrences(tokens):
            if any(i in span.used for i in range(start, end + 1)):
                continue
            if start > span.start and end < span.end:
                return True  # inside: "el pecho no me duele"
            if (
                end < span.start
                and tokens[start].clause == first.clause
                and first.word - tokens[end].word - 1 < NEGATION_REACH
            ):
                return True
        after = span.end + 1
        if after < len(tokens) and tokens[after].plain in self.negation_words:
            following = tokens[after + 1] if after + 1 < len(tokens) else None
            return following is None or following.is_mark
        return False

    def _someone_else(self, tokens: Sequence[Token], span: Span) -> bool:
        segment = tokens[span.start].segment
        for start, end in self.others.occurrences(tokens):
            if end >= span.start or tokens[start].segment != segment:
                continue
            between = range(end + 1, span.end + 1)
            if not any(tokens[i].plain in self.first_person for i in between):
                return True
        return False

    def _question(self, tokens: Sequence[Token], span: Span) -> bool:
        clause = tokens[span.start].clause
        before = [(s, e) for s, e in self.hypothetical.occurrences(tokens) if e < span.start]
        if any(tokens[s].clause == clause and self._is_if(tokens, s) for s, _ in before):
            return True
        if _clause_end(tokens, tokens[span.end].clause) != "?":
            return False
        openers = self.question.occurrences(tokens)
        if any(e < span.start and tokens[s].clause == clause for s, e in openers):
            return True
        in_clause = (t for t in tokens[: span.end + 1] if t.clause == clause)
        return not any(t.plain in self.first_person for t in in_clause)

    def _is_if(self, tokens: Sequence[Token], at: int) -> bool:
        """ "si" is "if" unless it is "sí": at the opening of a message that asks
        nothing (after a greeting at most: "hola si me duele el pecho"), or followed
        by a comma."""
        if tokens[at].plain != "si":
            return True
        nxt = tokens[at + 1] if at + 1 < len(tokens) else None
        if nxt is None or nxt.is_mark:
            return False
        sentence = tokens[at].sentence
        if any(t.plain == "?" and t.sentence == sentence for t in tokens):
            return True
        opening = all(t.is_mark or t.plain in GREETINGS for t in tokens[:at])
        return not opening

    # ---- resolution, across the mentions of a message ------------------------------

    def resolutions(
        self, tokens: Sequence[Token], spans: Sequence[tuple[str, Span]]
    ) -> set[tuple[str, int]]:
        """(code, span start) of every mention a ``resolved`` phrase takes back."""
        used = {i for _, span in spans for i in span.used}
        taken: set[tuple[str, int]] = set()
        for start, end in self.resolved.occurrences(tokens):
            if any(i in used for i in range(start, end + 1)) or self._negated_cue(tokens, start):
                continue
            target = self._resolved_code(tokens, spans, start, end)
            if target is None:
                continue
            code, forward = target
            for other_code, span in spans:
                if other_code == code and _in_reach(tokens, span, start, end, forward):
                    taken.add((code, span.start))
        return taken

    def _negated_cue(self, tokens: Sequence[Token], start: int) -> bool:
        return start > 0 and tokens[start - 1].plain in self.negation_words

    @staticmethod
    def _resolved_code(
        tokens: Sequence[Token], spans: Sequence[tuple[str, Span]], start: int, end: int
    ) -> tuple[str, bool] | None:
        cue_start, cue_end = tokens[start], tokens[end]
        ahead = [
            (span.start, code)
            for code, span in spans
            if span.start > end
            and tokens[span.start].segment == cue_end.segment
            and tokens[span.start].word - cue_end.word - 1 <= RESOLVES_NEXT_WITHIN
        ]
        if ahead:
            return min(ahead)[1], True
        behind = [
            (span.end, code)
            for code, span in spans
            if span.end < start
            and tokens[span.end].sentence == cue_start.sentence
            and cue_start.word - tokens[span.end].word - 1 <= RESOLVES_LAST_WITHIN
        ]
        return (max(behind)[1], False) if behind else None


def _in_reach(tokens: Sequence[Token], span: Span, start: int, end: int, forward: bool) -> bool:
    if forward:
        return span.start > end and tokens[span.start].segment == tokens[end].segment
    return span.end < start and tokens[span.end].sentence == tokens[start].sentence


class PhraseSet:
    """Phrases indexed by their first word, so one pass over a message finds them all."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self.phrases = tuple(phrases)
        self._by_first: dict[str, list[Phrase]] = {}
        for phrase in self.phrases:
            self._by_first.setdefault(phrase[0], []).append(phrase)

    def occurrences(self, tokens: Sequence[Token]) -> list[tuple[int, int]]:
        """(first, last) token index of every phrase, words consecutive (marks break it)."""
        found: list[tuple[int, int]] = []
        for i, token in enumerate(tokens):
            for phrase in self._by_first.get(token.plain, ()):
                end = i + len(phrase) - 1
                if end < len(tokens) and all(
                    tokens[i + k].plain == phrase[k] for k in range(1, len(phrase))
                ):
                    found.append((i, end))
        return found


def _clause_end(tokens: Sequence[Token], clause: int) -> str | None:
    """The mark that closes ``clause`` (None at the end of the message)."""
    for token in tokens:
        if token.clause == clause and token.is_mark:
            return token.plain
        if token.clause > clause:
            return None
    return None
