"""What a participant can report, in their words, straight from the protocol file.

The app and the web app build their forms from this, never from a list of their own:
a symptom added to ``[[symptoms]]`` (with its catalog label) appears at the next
start, with its number, whether it is an emergency, and whether a temperature goes
with it. The pregnancy question is offered only to those it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.db.models import Participant
from service.domain.replies import Severity
from service.runtime import Runtime

__all__ = ["QuestionnaireSymptom", "ReportableQuestionnaire", "questionnaire_for"]


@dataclass(frozen=True, slots=True)
class QuestionnaireSymptom:
    code: str
    number: int
    label: str
    emergency: bool
    red_flag: bool
    asks_temperature: bool


@dataclass(frozen=True, slots=True)
class ReportableQuestionnaire:
    symptoms: tuple[QuestionnaireSymptom, ...]
    severities: tuple[tuple[str, str], ...]  # (code, label)
    fever_threshold_c: float
    pregnancy: bool


def _label(rt: Runtime, key: str, language: str, fallback: str) -> str:
    try:
        return rt.translator.render(key, language)
    except (KeyError, LookupError):  # a protocol symptom whose label is not in the catalog
        return fallback


def questionnaire_for(rt: Runtime, participant: Participant) -> ReportableQuestionnaire:
    language = participant.language
    symptoms = tuple(
        QuestionnaireSymptom(
            code=symptom.code,
            number=symptom.number,
            label=_label(rt, symptom.label_key, language, symptom.code),
            emergency=symptom.emergency,
            red_flag=symptom.red_flag,
            asks_temperature=symptom.asks_temperature,
        )
        for symptom in sorted(rt.protocol.symptoms, key=lambda s: s.number)
    )
    severities = tuple(
        (level.value, _label(rt, f"severity.{level.value}", language, level.value))
        for level in Severity
    )
    return ReportableQuestionnaire(
        symptoms=symptoms,
        severities=severities,
        fever_threshold_c=rt.protocol.safety.fever_threshold_c,
        pregnancy=bool(participant.can_become_pregnant),
    )
