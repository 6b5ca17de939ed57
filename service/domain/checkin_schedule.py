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
    for definition in definitions:
        if definition.only_if_can_become_pregnant and not can_become_pregnant:
            continue
        for day, params in _occurrence_days(definition, baseline, second_infusion, follow_up_end):
            at = preferred_time or definition.local_time
            nominal = next_allowed(local_moment(day, at, tz), tz, quiet)
            expires = nominal + timedelta(hours=definition.expires_after_hours)
            if expires <= now:
                continue
            send_at = nominal if nominal >= now else next_allowed(now, tz, quiet)
            if send_at >= expires:
                continue
            planned.append(
                PlannedMessage(
                    kind=MessageKind.CHECKIN,
                    purpose=f"checkin:{definition.code}",
                    occurrence=day.isoformat(),
                    message_key=definition.message_key,
                    send_at=send_at,
                    expires_at=expires,
                    params={"questionnaire": definition.questionnaire.value, **params},
                )
            )
    return planned
