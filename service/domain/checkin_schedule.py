"""When to ask participants how they are: check-in prompts from the protocol's cadences.

- weekly: every ``every`` weeks after baseline (the baseline weekday), up to the end
  of follow-up;
- monthly: every ``every`` months after baseline, month-end clamped like visits;
- after_infusion: daily on days 1..``days`` after each infusion actually given (the
  baseline infusion, and the second once its date is recorded).

A prompt is answerable for ``expires_after_hours``; one whose moment passed but which
is still answerable is planned for the next allowed moment (catch-up), one that
expired is not planned. Quiet hours apply as for reminders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.domain.calendar import add_months
from service.domain.protocol import CadenceKind, CheckinDefinition, QuietHours
from service.domain.reminders import PlannedMessage, local_moment, next_allowed
from service.domain.states import MessageKind


def _occurrence_days(
    definition: CheckinDefinition, baseline: date, second_infusion: date | None, end: date
) -> Iterator[tuple[date, dict[str, str]]]:
    if definition.cadence is CadenceKind.WEEKLY:
        step = 1
        while (day := baseline + timedelta(weeks=definition.every * step)) <= end:
            yield day, {}
            step += 1
    elif definition.cadence is CadenceKind.MONTHLY:
        step = 1
        while (day := add_months(baseline, definition.every * step)) <= end:
            yield day, {}
            step += 1
    else:
        for number, infusion in ((1, baseline), (2, second_infusion)):
            if infusion is None:
                continue
            for offset in range(1, definition.days + 1):
                params = {"day": str(offset), "infusion": str(number)}
                yield infusion + timedelta(days=offset), params


@dataclass(frozen=True, slots=True)
class CheckinOccurrence:
    """One check-in prompt of the schedule with its answer window (UTC), sent or not.

    ``key`` is the check-in key answers are stored under (``purpose:occurrence``).
    """

    definition: CheckinDefinition
    day: date
    params: dict[str, str]
    nominal: datetime
    expires_at: datetime
    key: str = field(init=False)  # kept, not recomputed: the dashboard looks it up often

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.purpose}:{self.day.isoformat()}")

    @property
    def purpose(self) -> str:
        return f"checkin:{self.definition.code}"


def checkin_occurrences(
    definitions: Iterable[CheckinDefinition],
    *,
    baseline: date,
    second_infusion: date | None,
    follow_up_end: date,
    can_become_pregnant: bool,
    timezone: str,
    quiet: QuietHours,
    preferred_time: time | None,
) -> list[CheckinOccurrence]:
    """Every prompt of the schedule, past and future: the planner keeps the ones still
    answerable, the dashboard counts the ones whose window has closed."""
    tz = ZoneInfo(timezone)
    found: list[CheckinOccurrence] = []
    for definition in definitions:
        if definition.only_if_can_become_pregnant and not can_become_pregnant:
            continue
        for day, params in _occurrence_days(definition, baseline, second_infusion, follow_up_end):
            at = preferred_time or definition.local_time
            nominal = next_allowed(local_moment(day, at, tz), tz, quiet)
            expires = nominal + timedelta(hours=definition.expires_after_hours)
            found.append(CheckinOccurrence(definition, day, params, nominal, expires))
    return found


def plan_checkin_prompts(
    definitions: Iterable[CheckinDefinition],
    *,
    baseline: date,
    second_infusion: date | None,
    follow_up_end: date,
    can_become_pregnant: bool,
    timezone: str,
    quiet: QuietHours,
    preferred_time: time | None,
    now: datetime,
) -> list[PlannedMessage]:
    tz = ZoneInfo(timezone)
    planned: list[PlannedMessage] = []
    for item in checkin_occurrences(
        definitions,
        baseline=baseline,
        second_infusion=second_infusion,
        follow_up_end=follow_up_end,
        can_become_pregnant=can_become_pregnant,
        timezone=timezone,
        quiet=quiet,
        preferred_time=preferred_time,
    ):
        if item.expires_at <= now:
            continue
        send_at = item.nominal if item.nominal >= now else next_allowed(now, tz, quiet)
        if send_at >= item.expires_at:
            continue
        planned.append(
            PlannedMessage(
                kind=MessageKind.CHECKIN,
                purpose=item.purpose,
                occurrence=item.day.isoformat(),
                message_key=item.definition.message_key,
                send_at=send_at,
                expires_at=item.expires_at,
                params={"questionnaire": item.definition.questionnaire.value, **item.params},
            )
        )
    return planned
