"""A check-in's answers as plain values, whatever channel collected them.

The SMS conversation (:mod:`service.domain.conversation`), the app's check-in route,
the safety rules and the red-flag reader all speak in these; the stored JSON shape is
``service.actions.checkins.answers_to_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from service.domain.replies import Severity

__all__ = ["Answers", "PregnancyAnswer", "ReportedSymptom", "Severity", "SymptomAnswers"]


@dataclass(frozen=True, slots=True)
class ReportedSymptom:
    """One symptom of a check-in.

    ``severity`` is None only in an incomplete answer (the participant was handed
    off before rating it); ``temperature_c`` is None when not asked or not measured.
    """

    code: str
    severity: Severity | None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class SymptomAnswers:
    """A symptoms check-in; no symptoms means "none". ``complete`` is False on handoff."""

    symptoms: tuple[ReportedSymptom, ...] = ()
    complete: bool = True


@dataclass(frozen=True, slots=True)
class PregnancyAnswer:
    pregnant: bool


Answers: TypeAlias = SymptomAnswers | PregnancyAnswer
