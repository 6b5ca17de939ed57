"""The SMS conversation that collects a check-in's answers (the answers themselves are
:mod:`service.domain.checkin_answers`).

A check-in by SMS is a short conversation spread over hours: the scheduler sends the
opening question (``checkin.symptoms.weekly`` / ``.post_infusion`` /
``checkin.pregnancy.prompt``), then each reply moves an immutable
:class:`ConversationState` forward through :func:`advance`. The state is stored in
the database between messages (``to_dict``/``from_dict``), so it holds only plain
data: symptom *codes*, never protocol objects, which are passed in on every call.

Flow (symptoms): choices -> for each chosen symptom, in number order: severity ->
temperature if the symptom ``asks_temperature`` -> thanks. "0"/"ninguno" -> thanks.
Flow (pregnancy): SI/NO -> thanks.

A reply that is not understood gets a clarification (``checkin.clarify.*``); after
``MAX_CLARIFICATIONS`` clarifications *on the same question* the next unclear reply
ends the conversation with ``inbound.received`` and ``handoff=True`` so that a
coordinator contacts the participant. The counter restarts at every understood
answer: a long conversation with one typo per question is progress, not confusion.

What the caller does (the action, not this module):

* Route OPT_OUT / OPT_IN / HELP keywords before calling :func:`advance` (pass
  ``awaiting_severity=state.step is Awaiting.SEVERITY`` to ``classify_keyword``).
* Render ``Outgoing``: first translate every value of ``key_params`` (they are
  message keys, e.g. ``symptom.fever``) in the participant's locale, then format the
  message with ``params | rendered key_params | site params`` -- the site params
  ({help_line}, {site}) are added by the caller, who knows the participant's site.
* Run :mod:`service.domain.safety` on ``Step.answers`` when the step finishes, and on
  ``state.snapshot()`` after each step to warn about emergency symptoms at once.
* Deduplicate webhook retries (Twilio MessageSid): :func:`advance` is pure, so the
  same reply applied twice moves the conversation twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from service.domain.checkin_answers import (
    Answers,
    PregnancyAnswer,
    ReportedSymptom,
    SymptomAnswers,
)
from service.domain.protocol import Questionnaire, Symptom
from service.domain.replies import (
    Severity,
    parse_severity,
    parse_symptom_choices,
    parse_temperature,
    parse_yes_no,
)

__all__ = [
    "MAX_CLARIFICATIONS",
    "Answers",
    "Awaiting",
    "ConversationState",
    "Outgoing",
    "PregnancyAnswer",
    "ReportedSymptom",
    "Severity",
    "Step",
    "SymptomAnswers",
    "advance",
    "is_expired",
    "start_conversation",
]

MAX_CLARIFICATIONS: Final = 2
STATE_VERSION: Final = 1


class Awaiting(StrEnum):
    """The question the participant's next reply answers."""

    SYMPTOM_CHOICES = "symptom_choices"
    SEVERITY = "severity"
    TEMPERATURE = "temperature"
    PREGNANCY = "pregnancy"


_CLARIFY: Final = {
    Awaiting.SYMPTOM_CHOICES: "checkin.clarify.symptoms",
    Awaiting.SEVERITY: "checkin.clarify.severity",
    Awaiting.TEMPERATURE: "checkin.clarify.temperature",
    Awaiting.PREGNANCY: "checkin.clarify.yes_no",
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send: ``params`` are literal values, ``key_params`` message keys."""

    message_key: str
    params: Mapping[str, str] = field(default_factory=dict)
    key_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where one check-in conversation stands (datetimes normalised to UTC).

    ``pending`` lists the chosen symptom codes not finished yet, the current one
    first; ``current_severity`` holds its severity while its temperature is asked.
    """

    questionnaire: Questionnaire
    occurrence_key: str
    step: Awaiting
    started_at: datetime
    expires_at: datetime
    pending: tuple[str, ...] = ()
    current_severity: Severity | None = None
    collected: tuple[ReportedSymptom, ...] = ()
    clarifications_used: int = 0

    def __post_init__(self) -> None:
        # Kept in UTC: an ambiguous wall-clock time (the night Chile turns its clocks
        # back) never compares equal across zones, which would break round-trips.
        _require_aware(self.started_at, "started_at")
        _require_aware(self.expires_at, "expires_at")
        object.__setattr__(self, "started_at", self.started_at.astimezone(UTC))
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC))
        if not self.occurrence_key:
            raise ValueError("occurrence_key must not be empty")
        if (self.questionnaire is Questionnaire.PREGNANCY) != (self.step is Awaiting.PREGNANCY):
            raise ValueError(f"step {self.step} does not belong to {self.questionnaire}")
        waits_on_symptom = self.step in (Awaiting.SEVERITY, Awaiting.TEMPERATURE)
        if waits_on_symptom != bool(self.pending):
            raise ValueError(f"step {self.step} does not match pending {self.pending}")
        if (self.step is Awaiting.TEMPERATURE) != (self.current_severity is not None):
            raise ValueError("current_severity is set exactly while a temperature is asked")
        if self.collected and not waits_on_symptom:
            raise ValueError(f"collected answers cannot wait on {self.step}")
        if not 0 <= self.clarifications_used <= MAX_CLARIFICATIONS:
            raise ValueError(f"clarifications_used out of range: {self.clarifications_used}")

    def snapshot(self) -> SymptomAnswers | None:
        """What the participant has told us so far (incomplete), for early safety checks.

        Chosen symptoms not rated yet appear with ``severity=None`` so that a red flag
        such as chest pain is known from the moment it is chosen.
        """
        if self.questionnaire is not Questionnaire.SYMPTOMS or not self.pending:
            return None
        head, *rest = self.pending
        current = ReportedSymptom(head, self.current_severity)
        unrated = tuple(ReportedSymptom(code, None) for code in rest)
        return SymptomAnswers((*self.collected, current, *unrated), complete=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict; datetimes as ISO 8601 in UTC."""
        return {
            "version": STATE_VERSION,
            "questionnaire": self.questionnaire.value,
            "occurrence_key": self.occurrence_key,
            "step": self.step.value,
            "started_at": self.started_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "pending": list(self.pending),
            "current_severity": self.current_severity.value if self.current_severity else None,
            "collected": [
                {
                    "code": s.code,
                    "severity": s.severity.value if s.severity else None,
                    "temperature_c": s.temperature_c,
                }
                for s in self.collected
            ],
            "clarifications_used": self.clarifications_used,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationState:
        """Inverse of :meth:`to_dict`; ValueError on anything malformed."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported conversation state version: {data.get('version')!r}")
        try:
            return cls(
                questionnaire=Questionnaire(_get(data, "questionnaire", str)),
                occurrence_key=_get(data, "occurrence_key", str),
                step=Awaiting(_get(data, "step", str)),
                started_at=_datetime(_get(data, "started_at", str)),
                expires_at=_datetime(_get(data, "expires_at", str)),
                pending=tuple(_strings(_get(data, "pending", list))),
                current_severity=_severity(data.get("current_severity")),
                collected=tuple(_reported(item) for item in _get(data, "collected", list)),
                clarifications_used=_get(data, "clarifications_used", int),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed conversation state: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one reply.

    ``state`` is None when the conversation is over (finished, handed off or
    expired); ``answers`` is set when it finished, and on a symptoms handoff holds
    what was understood (``complete=False``).
    """

    state: ConversationState | None
    outgoing: tuple[Outgoing, ...]
    answers: Answers | None = None
    handoff: bool = False
    expired: bool = False

    @property
    def finished(self) -> bool:
        return self.state is None


def start_conversation(
    questionnaire: Questionnaire, occurrence_key: str, now: datetime, expires_at: datetime
) -> ConversationState:
    """The state right after the opening question was sent."""
    _require_aware(now, "now")
    if expires_at <= now:
        raise ValueError("a conversation must expire after it starts")
    step = (
        Awaiting.PREGNANCY if questionnaire is Questionnaire.PREGNANCY else Awaiting.SYMPTOM_CHOICES
    )
    return ConversationState(questionnaire, occurrence_key, step, now, expires_at)


def is_expired(state: ConversationState, now: datetime) -> bool:
    """True from ``expires_at`` on (the end is excluded from the open window)."""
    _require_aware(now, "now")
    return now >= state.expires_at


def advance(
    state: ConversationState,
    inbound_text: str,
    now: datetime,
    protocol_symptoms: Iterable[Symptom],
) -> Step:
    """Apply one inbound reply. A reply after expiry ends it with ``checkin.late``."""
    if is_expired(state, now):
        return Step(None, (Outgoing("checkin.late"),), expired=True)
    symptoms = tuple(protocol_symptoms)
    if state.step is Awaiting.SYMPTOM_CHOICES:
        step = _on_choices(state, inbound_text, symptoms)
    elif state.step is Awaiting.SEVERITY:
        step = _on_severity(state, inbound_text, symptoms)
    elif state.step is Awaiting.TEMPERATURE:
        step = _on_temperature(state, inbound_text, symptoms)
    else:
        step = _on_pregnancy(inbound_text)
    return step if step is not None else _not_understood(state)


def _on_choices(state: ConversationState, text: str, symptoms: tuple[Symptom, ...]) -> Step | None:
    numbers = parse_symptom_choices(text, symptoms)
    if numbers is None:
        return None
    if not numbers:
        return _finish(SymptomAnswers(()))
    by_number = {symptom.number: symptom for symptom in symptoms}
    chosen = [by_number[n] for n in sorted(numbers)]
    new = replace(
        state,
        step=Awaiting.SEVERITY,
        pending=tuple(s.code for s in chosen),
        clarifications_used=0,
    )
    return Step(new, (_severity_question(chosen[0]),))


def _on_severity(state: ConversationState, text: str, symptoms: tuple[Symptom, ...]) -> Step | None:
    severity = parse_severity(text)
    if severity is None:
        return None
    current = _symptom(symptoms, state.pending[0])
    if current.asks_temperature:
        new = replace(
            state, step=Awaiting.TEMPERATURE, current_severity=severity, clarifications_used=0
        )
        return Step(new, (Outgoing("checkin.symptoms.temperature"),))
    return _next_symptom(state, ReportedSymptom(current.code, severity), symptoms)


def _on_temperature(
    state: ConversationState, text: str, symptoms: tuple[Symptom, ...]
) -> Step | None:
    reading = parse_temperature(text)
    if reading is None:
        return None
    temperature = float(reading) if isinstance(reading, Decimal) else None
    reported = ReportedSymptom(state.pending[0], state.current_severity, temperature)
    return _next_symptom(state, reported, symptoms)


def _next_symptom(
    state: ConversationState, reported: ReportedSymptom, symptoms: tuple[Symptom, ...]
) -> Step:
    collected = (*state.collected, reported)
    rest = state.pending[1:]
    if not rest:
        return _finish(SymptomAnswers(collected))
    new = replace(
        state,
        step=Awaiting.SEVERITY,
        pending=rest,
        current_severity=None,
        collected=collected,
        clarifications_used=0,
    )
    return Step(new, (_severity_question(_symptom(symptoms, rest[0])),))


def _on_pregnancy(text: str) -> Step | None:
    pregnant = parse_yes_no(text)
    return None if pregnant is None else _finish(PregnancyAnswer(pregnant))


def _not_understood(state: ConversationState) -> Step:
    if state.clarifications_used < MAX_CLARIFICATIONS:
        new = replace(state, clarifications_used=state.clarifications_used + 1)
        return Step(new, (Outgoing(_CLARIFY[state.step]),))
    return Step(None, (Outgoing("inbound.received"),), answers=state.snapshot(), handoff=True)


def _finish(answers: Answers) -> Step:
    return Step(None, (Outgoing("checkin.thanks"),), answers=answers)


def _severity_question(symptom: Symptom) -> Outgoing:
    return Outgoing("checkin.symptoms.severity", key_params={"symptom": symptom.label_key})


def _symptom(symptoms: tuple[Symptom, ...], code: str) -> Symptom:
    for symptom in symptoms:
        if symptom.code == code:
            return symptom
    raise ValueError(f"symptom {code!r} of a stored conversation is not in the protocol")


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _get(data: Mapping[str, Any], key: str, kind: type) -> Any:
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{key} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _strings(values: list[Any]) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise TypeError("pending must hold strings")
    return values


def _datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    _require_aware(moment, "stored datetime")
    return moment


def _severity(value: object) -> Severity | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("severity must be a string or null")
    return Severity(value)


def _reported(item: object) -> ReportedSymptom:
    if not isinstance(item, Mapping):
        raise TypeError("collected items must be objects")
    temperature = item.get("temperature_c")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise TypeError("temperature_c must be a number or null")
    return ReportedSymptom(
        code=_get(item, "code", str),
        severity=_severity(item.get("severity")),
        temperature_c=None if temperature is None else float(temperature),
    )
