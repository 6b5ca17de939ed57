"""Planning reminders: calendar + rules + the participant's zone → messages with UTC times.

Rules, in the order they apply:

1. Nominal moment: the visit's target date minus ``days_before``, at the rule's local
   hour (or the participant's preferred time when the rule allows), in the
   participant's IANA zone. Wall-clock times are kept across DST changes: a 10:00
   reminder is at 10:00 local on both sides of a change. A local time that does not
   exist (the skipped hour when clocks go forward) moves forward by the gap.
2. Quiet hours (default 21:00–09:00 local) are never violated: a moment inside them
   moves to the end of the quiet period.
3. Every reminder has a moment after which it is pointless: the day-before and
   week-before kinds expire when the visit day starts (local midnight) or when the
   next, closer reminder for the same visit is due, whichever is first; a same-day
   reminder expires at local noon of the visit day. A reminder that quiet hours push
   past its expiry is dropped.
4. Catch-up: a reminder whose nominal moment passed less than a day ago and which
   has not expired is planned for the next allowed moment after ``now`` (a
   participant entered late still hears about the next visit); one overdue by more
   than a day is left to the closer reminder, since its words ("in a week") would
   no longer be true; one that has expired is not planned, so nobody is told about
   a visit already past.

The occurrence key includes the target date, so a visit that moves (a late second
infusion) gets fresh reminders while those for the old date are cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.domain.calendar import CalendarVisit
from service.domain.protocol import QuietHours, ReminderRule
from service.domain.states import MessageKind

CATCH_UP_LIMIT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    kind: MessageKind
    purpose: str
    occurrence: str
    message_key: str
    send_at: datetime  # UTC
    expires_at: datetime  # UTC
    params: dict[str, str] = field(default_factory=dict)
    budget: str | None = None  # what the daily budget did to it (domain/daily_budget.py)
    dropped: bool = False  # the daily budget left no room: stored cancelled, with the note

    @property
    def key(self) -> tuple[str, str]:
        return (self.purpose, self.occurrence)


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time.

    PEP 495 semantics with ``fold=0``: a time skipped when clocks go forward is read
    with the offset in force before the change, which lands it later by the gap
    (00:30 becomes 01:30); a repeated time when clocks go back is its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def in_quiet_hours(local: time, quiet: QuietHours) -> bool:
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def next_allowed(moment: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """``moment`` itself if outside quiet hours, else the end of that quiet period (UTC)."""
    local = moment.astimezone(tz)
    if not in_quiet_hours(local.time().replace(tzinfo=None), quiet):
        return moment
    end_day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        end_day += timedelta(days=1)
    return local_moment(end_day, quiet.end, tz)


def parse_hhmm(value: str | None) -> time | None:
    if not value:
        return None
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def _expiry(visit: CalendarVisit, rule: ReminderRule, tz: ZoneInfo) -> datetime:
    if rule.days_before <= 0:
        return local_moment(visit.target_date, time(12, 0), tz)
    return local_moment(visit.target_date, time(0, 0), tz)


def plan_visit_reminders(
    visits: Iterable[CalendarVisit],
    rules: Iterable[ReminderRule],
    *,
    timezone: str,
    quiet: QuietHours,
    preferred_time: time | None,
    now: datetime,
    skip_codes: frozenset[str] = frozenset(),
) -> list[PlannedMessage]:
    """Reminders still worth sending for the visits not yet recorded (see module doc)."""
    tz = ZoneInfo(timezone)
    rules = tuple(rules)
    planned: list[PlannedMessage] = []
    for visit in visits:
        if visit.code in skip_codes:
            continue
        nominal: list[tuple[ReminderRule, datetime]] = []
        for rule in rules:
            if rule.visit_kind != visit.kind:
                continue
            hour = preferred_time if (rule.use_preferred_time and preferred_time) else None
            day = visit.target_date - timedelta(days=rule.days_before)
            moment = local_moment(day, hour or rule.local_time, tz)
            nominal.append((rule, next_allowed(moment, tz, quiet)))
        nominal.sort(key=lambda pair: pair[1])
        for index, (rule, moment) in enumerate(nominal):
            expires = _expiry(visit, rule, tz)
            if index + 1 < len(nominal):
                expires = min(expires, nominal[index + 1][1])
            if moment < now:
                if now - moment > CATCH_UP_LIMIT:
                    continue  # long overdue: its wording ("in a week") no longer fits
                moment = next_allowed(now, tz, quiet)
            if moment >= expires:
                continue
            planned.append(
                PlannedMessage(
                    kind=MessageKind.REMINDER,
                    purpose=f"reminder:{rule.code}",
                    occurrence=f"{visit.code}@{visit.target_date.isoformat()}",
                    message_key=rule.message_key,
                    send_at=moment,
                    expires_at=expires,
                    params={"visit_code": visit.code, "visit_date": visit.target_date.isoformat()},
                )
            )
    return planned
