"""The study protocol as plain, immutable data.

Everything the study team may change without touching code (sites, visits and their
windows, reminder rules, quiet hours, check-in cadences, safety thresholds) is
described by these types and read from ``schedules/*.toml`` by
:mod:`service.domain.protocol_loader`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from service.domain.concepts import Concept, FreeText


class Anchor(StrEnum):
    """What a visit's offset counts from."""

    BASELINE_INFUSION = "baseline_infusion"
    SECOND_INFUSION = "second_infusion"


class RecordedEvent(StrEnum):
    """An event the service records on its own form; a visit may take its state from it
    (``VisitDefinition.attended_on``), so staff enter the fact once."""

    INFUSION_1 = "infusion_1"
    INFUSION_2 = "infusion_2"

    @classmethod
    def infusion(cls, number: int) -> RecordedEvent:
        return cls(f"infusion_{number}")


class OffsetUnit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class VisitKind(StrEnum):
    INFUSION = "infusion"
    CLINIC = "clinic"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Offset:
    """A signed distance from an anchor; months clamp to month end (see calendar)."""

    amount: int
    unit: OffsetUnit


@dataclass(frozen=True, slots=True)
class Site:
    code: str
    name: str
    timezone: str  # IANA name, e.g. America/Santiago
    help_line: str  # E.164


@dataclass(frozen=True, slots=True)
class VisitDefinition:
    """One visit of the protocol.

    ``window_before_days``/``window_after_days`` are whole days around the target,
    both ends included. ``anchors_second_infusion`` marks the single visit whose
    actual date, once recorded, becomes the ``second_infusion`` anchor.
    ``attended_on`` names an event the service records (an infusion): recording it
    records this visit attended on the event's date, in or out of its window.
    """

    code: str
    name_key: str  # message key of the display name
    anchor: Anchor
    offset: Offset
    window_before_days: int
    window_after_days: int
    kind: VisitKind
    shift_off_working_days: bool = False
    anchors_second_infusion: bool = False
    attended_on: RecordedEvent | None = None


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """Send ``message_key`` ``days_before`` the target of every visit of ``visit_kind``.

    ``local_time`` is the participant's wall-clock hour; a participant's preferred
    time replaces it when ``use_preferred_time`` is true (the morning-of-infusion
    instructions keep their own hour).
    """

    code: str
    visit_kind: VisitKind
    days_before: int
    local_time: time
    message_key: str
    use_preferred_time: bool = True


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No message is sent from ``start`` to ``end`` local time (wrapping midnight)."""

    start: time = time(21, 0)
    end: time = time(9, 0)


class Questionnaire(StrEnum):
    SYMPTOMS = "symptoms"
    PREGNANCY = "pregnancy"


class CadenceKind(StrEnum):
    WEEKLY = "weekly"  # every `every` weeks from baseline, on the baseline weekday
    MONTHLY = "monthly"  # every `every` months from baseline, month-end clamped
    AFTER_INFUSION = "after_infusion"  # daily on days 1..`days` after each infusion


@dataclass(frozen=True, slots=True)
class CheckinDefinition:
    code: str
    questionnaire: Questionnaire
    cadence: CadenceKind
    message_key: str
    every: int = 1
    days: int = 0
    local_time: time = time(10, 0)
    expires_after_hours: int = 48
    only_if_can_become_pregnant: bool = False


@dataclass(frozen=True, slots=True)
class Symptom:
    code: str  # stable, e.g. "fever"
    number: int  # what the participant types by SMS
    label_key: str  # message key of the plain-Spanish label
    red_flag: bool = False  # an alert whatever the severity
    emergency: bool = False  # tell the participant to call emergency services
    asks_temperature: bool = False
    # How a participant writes it in a message of their own (``says``/``hints``/
    # ``unless``); see service/domain/red_flags.py.
    concept: Concept | None = None


@dataclass(frozen=True, slots=True)
class SafetyRules:
    fever_threshold_c: float = 38.0
    alert_on_severity: str = "severe"
    pregnancy_yes_alerts: bool = True
    escalate_after_minutes: int = 30
    # How a pregnancy is written (``pregnancy_says``...), and how scope is written
    # (``[safety.free_text]``: negation, questions, other people).
    pregnancy: Concept | None = None
    free_text: FreeText | None = None


@dataclass(frozen=True, slots=True)
class DailyBudget:
    """At most ``max_per_day`` planned texts per local day, ``min_gap_minutes`` apart,
    placed in ``priority`` order (reminder and check-in codes); ``never_drop`` codes
    move to the next day rather than being dropped. See domain/daily_budget.py."""

    max_per_day: int
    min_gap_minutes: int
    priority: tuple[str, ...] = ()
    never_drop: frozenset[str] = frozenset()


class EdcRawText(StrEnum):
    """Where the participant's verbatim SMS text may travel into EDC output."""

    SYMPTOMS = "symptoms"  # the replies behind a symptoms check-in
    PREGNANCY = "pregnancy"  # the replies behind a pregnancy check-in


@dataclass(frozen=True, slots=True)
class EdcOptions:
    """What the study team lets the EDC feed carry (``[edc]`` in the protocol file).

    Raw SMS text can hold anything a participant typed (names, numbers, worries), so
    it reaches the EDC only for the questionnaires listed in ``raw_sms_text``.
    """

    raw_sms_text: frozenset[EdcRawText] = frozenset()


@dataclass(frozen=True, slots=True)
class Protocol:
    """The whole protocol file, validated. ``revision`` is a hash of its content."""

    study_code: str
    study_name: str
    source: str
    revision: str
    sites: tuple[Site, ...]
    visits: tuple[VisitDefinition, ...]
    reminders: tuple[ReminderRule, ...] = ()
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    checkins: tuple[CheckinDefinition, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    safety: SafetyRules = field(default_factory=SafetyRules)
    follow_up_months: int = 12
    edc: EdcOptions = field(default_factory=EdcOptions)
    daily_budget: DailyBudget | None = None

    def site(self, code: str) -> Site:
        for site in self.sites:
            if site.code == code:
                return site
        raise KeyError(code)

    def visit(self, code: str) -> VisitDefinition:
        for visit in self.visits:
            if visit.code == code:
                return visit
        raise KeyError(code)

    def visit_attended_on(self, event: RecordedEvent) -> VisitDefinition | None:
        """The visit a recorded ``event`` marks attended, if the protocol ties one to it."""
        return next((v for v in self.visits if v.attended_on is event), None)

    @property
    def second_infusion_visit(self) -> VisitDefinition:
        return next(v for v in self.visits if v.anchors_second_infusion)
