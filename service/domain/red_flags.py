"""Red flags in a message a participant writes on their own, understood as written.

"me duele mucho el pecho", "el pecho me duele", "tengo 38 y algo", "me hice un
evatest y salieron dos rayitas": a participant who writes a red flag must raise the
same alert the check-in would, however it is worded; "ya se me pasó el dolor de
pecho", "si me da fiebre de 38 tengo que ir a urgencia?" and "mi papá está con dolor
de pecho" must not raise it on the participant, but still reach the coordinators'
queue saying why. What a red flag *is* lives in the protocol file (the ``says``,
``hints`` and ``unless`` patterns of a symptom and of ``[safety]`` for pregnancy;
``[safety.free_text]`` for negation, questions and other people), so the study team
extends it without code. This module puts the parts together:

1. the message's words (:mod:`~service.domain.free_text_words`) and temperatures
   (:mod:`~service.domain.temperatures`);
2. every place a concept's pattern occurs (:mod:`~service.domain.concepts`): a
   ``says`` pattern is a mention, a ``hints`` pattern an unclear one, an ``unless``
   pattern in the same segment cancels both; a temperature is a mention of every
   symptom that asks one;
3. the scope of each mention (:mod:`~service.domain.scope`);
4. one outcome per red flag, the most useful first: any clear mention makes it
   ``SAID`` (one alert is worth more than a tidy reading: "ya no tengo fiebre pero
   ahora 38,5" alerts); otherwise a question, someone else, negated, unclear, below
   the threshold, in that order.

A symptom that asks a temperature is ``SAID`` only with a clear reading at or above
the protocol's ``fever_threshold_c``; its words alone ("tengo fiebre") are
``UNCLEAR``, a reading under the threshold ``BELOW_THRESHOLD``. The alerting part
comes back as a :class:`Report` in the shape of a check-in's answers (symptoms
unrated, the lowest temperature the writing allows), which the safety rules judge
like any other check-in. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from service.domain.checkin_answers import PregnancyAnswer, ReportedSymptom, SymptomAnswers
from service.domain.concepts import Concept, FreeText, find, lexicon_for
from service.domain.free_text_words import Token, tokenize
from service.domain.protocol import SafetyRules, Symptom
from service.domain.scope import Heard, ScopeReader, Span
from service.domain.temperatures import Reading, read_temperatures

__all__ = ["PREGNANCY", "FlagReading", "Heard", "RedFlagReader", "Report", "TextReading"]

PREGNANCY: Final = "pregnancy"
# When a red flag is not SAID, the reason shown to people: the most telling first.
_QUEUE_ORDER: Final = (
    Heard.QUESTION,
    Heard.SOMEONE_ELSE,
    Heard.NEGATED,
    Heard.UNCLEAR,
    Heard.BELOW_THRESHOLD,
)


@dataclass(frozen=True, slots=True)
class Report:
    """What a message reports on its own that the safety rules alert on."""

    symptoms: SymptomAnswers | None = None
    pregnancy: PregnancyAnswer | None = None


@dataclass(frozen=True, slots=True)
class FlagReading:
    """One red flag of the protocol as the message has it."""

    code: str  # a symptom code, or "pregnancy"
    heard: Heard
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class TextReading:
    """Every red flag the message mentions, and what follows from them."""

    flags: tuple[FlagReading, ...] = ()
    report: Report | None = None

    @property
    def alerts(self) -> tuple[str, ...]:
        """The codes the report carries: red flags the message clearly reports."""
        if self.report is None:
            return ()
        codes = [s.code for s in self.report.symptoms.symptoms] if self.report.symptoms else []
        return (*codes, *([PREGNANCY] if self.report.pregnancy else []))

    @property
    def queue_reason(self) -> Heard | None:
        """Why people should read it when nothing alerts (None: no red flag in it)."""
        heard = {f.heard for f in self.flags}
        return next((h for h in _QUEUE_ORDER if h in heard), None)


@dataclass(frozen=True, slots=True)
class _Mention:
    code: str
    span: Span
    base: Heard  # SAID for `says`, UNCLEAR for `hints`, the judged reading otherwise
    reading: Reading | None = None


class RedFlagReader:
    """The protocol's concepts compiled once (lemmas and stems of every word, on first
    use or :meth:`warm`); :meth:`read` is then pure and fast. One per protocol."""

    def __init__(
        self, symptoms: Sequence[Symptom], rules: SafetyRules, free_text: FreeText | None = None
    ) -> None:
        self._free_text = free_text or rules.free_text or FreeText()
        self._concepts: list[tuple[str, Concept]] = [
            (s.code, s.concept) for s in symptoms if s.concept is not None
        ]
        if rules.pregnancy is not None:
            self._concepts.append((PREGNANCY, rules.pregnancy))
        self._symptoms = {s.code: s for s in symptoms}
        self._temperature_codes = tuple(s.code for s in symptoms if s.asks_temperature)
        self._threshold = Decimal(str(rules.fever_threshold_c))
        self._lexicon = lexicon_for(c for _, c in self._concepts)
        self._shorthand = self._free_text.spelled_out
        self._scope = ScopeReader(self._free_text)
        fever_words = {
            w for code, c in self._concepts if code in self._temperature_codes for w in c.words
        }
        self._fever_words = frozenset(fever_words)

    def warm(self) -> None:
        """Load the dictionary and index the concepts now rather than at the first
        message (the web app does this at start-up; a worker never reads messages)."""
        self._lexicon.warm()

    def read(self, text: str) -> TextReading:
        """Read one message (module docstring)."""
        tokens = tokenize(text, self._shorthand)
        if not tokens:
            return TextReading()
        mentions = self._mentions(tokens)
        if not mentions:
            return TextReading()
        resolved = self._scope.resolutions(tokens, [(m.code, m.span) for m in mentions])
        heard: dict[str, list[tuple[_Mention, Heard]]] = {}
        for mention in mentions:
            scoped = self._scope.judge(tokens, mention.span)
            if scoped is None and (mention.code, mention.span.start) in resolved:
                scoped = Heard.NEGATED
            heard.setdefault(mention.code, []).append((mention, scoped or mention.base))
        flags = tuple(self._flag(code, found) for code, found in heard.items())
        return TextReading(flags, self._report(flags))

    def _mentions(self, tokens: list[Token]) -> list[_Mention]:
        meanings = [self._lexicon.meanings(t) for t in tokens]
        found: list[_Mention] = []
        for code, concept in self._concepts:
            cancelled = {
                tokens[m.start].segment
                for p in concept.unless
                for m in find(p, tokens, meanings, self._free_text)
            }
            for patterns, base in ((concept.says, Heard.SAID), (concept.hints, Heard.UNCLEAR)):
                for pattern in patterns:
                    for match in find(pattern, tokens, meanings, self._free_text):
                        if tokens[match.start].segment not in cancelled:
                            span = Span(match.start, match.end, match.used)
                            found.append(_Mention(code, span, base))
        for reading in read_temperatures(tokens, self._fever_words):
            judged = reading.judged(self._threshold)
            base = {True: Heard.SAID, False: Heard.BELOW_THRESHOLD, None: Heard.UNCLEAR}[judged]
            used = frozenset(range(reading.start, reading.end + 1))
            for code in self._temperature_codes:
                span = Span(reading.start, reading.end, used)
                found.append(_Mention(code, span, base, reading))
        return found

    def _flag(self, code: str, found: list[tuple[_Mention, Heard]]) -> FlagReading:
        if code in self._temperature_codes:
            said = [m.reading for m, h in found if h is Heard.SAID and m.reading is not None]
            if said:
                return FlagReading(code, Heard.SAID, float(max(r.low for r in said)))
            if any(m.reading is not None for m, _ in found):
                # A reading speaks for the words that name it ("fiebre de 37,8").
                found = [(m, h) for m, h in found if m.reading is not None or h is not Heard.SAID]
            # Words alone ("tengo fiebre") leave the temperature to people.
            found = [(m, Heard.UNCLEAR if h is Heard.SAID else h) for m, h in found]
        elif any(h is Heard.SAID for _, h in found):
            return FlagReading(code, Heard.SAID)
        heard = {h for _, h in found}
        return FlagReading(code, next(h for h in _QUEUE_ORDER if h in heard))

    def _report(self, flags: tuple[FlagReading, ...]) -> Report | None:
        said = [f for f in flags if f.heard is Heard.SAID]
        symptoms = tuple(
            ReportedSymptom(f.code, None, f.temperature_c)
            for f in said
            if f.code in self._symptoms and self._alerts(self._symptoms[f.code])
        )
        pregnant = any(f.code == PREGNANCY for f in said)
        if not symptoms and not pregnant:
            return None
        return Report(
            symptoms=SymptomAnswers(symptoms, complete=False) if symptoms else None,
            pregnancy=PregnancyAnswer(True) if pregnant else None,
        )

    @staticmethod
    def _alerts(symptom: Symptom) -> bool:
        return symptom.red_flag or symptom.emergency or symptom.asks_temperature
