"""The MSC-ROLE symptom list as the SMS menu numbers it (1..13), for unit tests.

Built directly rather than loaded from schedules/ so that domain tests do not
depend on the protocol file or its loader.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain.protocol import SafetyRules, Symptom

_CODES = (
    "fever",
    "chills",
    "shortness_of_breath",
    "chest_pain",
    "rash",
    "swelling",
    "dark_urine",
    "less_urine",
    "nausea_vomiting",
    "diarrhea",
    "cough",
    "burning_urination",
    "other",
)
_RED_FLAGS = frozenset({"shortness_of_breath", "chest_pain", "less_urine"})
_EMERGENCIES = frozenset({"shortness_of_breath", "chest_pain"})

SYMPTOMS: tuple[Symptom, ...] = tuple(
    Symptom(
        code=code,
        number=number,
        label_key=f"symptom.{code}",
        red_flag=code in _RED_FLAGS,
        emergency=code in _EMERGENCIES,
        asks_temperature=code == "fever",
    )
    for number, code in enumerate(_CODES, start=1)
)
NUMBER: dict[str, int] = {s.code: s.number for s in SYMPTOMS}
RULES = SafetyRules()

# Monday 2025-03-03 13:00 UTC = 10:00 in Santiago (summer time, UTC-3).
T0 = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=48)
