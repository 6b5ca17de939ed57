"""A daily message budget: no pile-ups on one participant's phone.

On an infusion day the calendar and the check-in cadences together planned four
texts (morning-of at 09:00, a check-in and a week-before reminder both at 10:00,
a day-before reminder at 18:00). The protocol's ``[daily_budget]`` caps that: at
most ``max_per_day`` planned messages per *local* day, at least ``min_gap_minutes``
apart, placed in the protocol's ``priority`` order (codes of reminders and
check-ins; unlisted codes come last, in time order).

Per local day, oldest day first, each message in priority order is:

1. kept at its time when the day has room and the gap holds;
2. else moved on the same day to the nearest quarter hour (later first, then
   earlier) that keeps the gap, stays outside quiet hours, before its expiry and
   not in the past;
3. else, if it is ``never_drop`` (the safety questions: check-ins), carried to the
   next day at the same local time while that is before its expiry, and judged
   again there; if it cannot be, it is kept at its time *over* budget;
4. else dropped (a reminder, which a closer reminder for the same visit usually
   repeats).

Messages already sent that day (``fixed``) count and keep their gap. Replies,
safety advice and alerts are not planned messages and never pass through here.
Every move and drop carries a note (``budget``) that the preview and the messages
route show. Pure: time comes in as ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from service.domain.protocol import DailyBudget, QuietHours
from service.domain.reminders import PlannedMessage

STEP = timedelta(minutes=15)


def rule_code(message: PlannedMessage) -> str:
    """The protocol code of a planned message: ``reminder:<code>`` / ``checkin:<code>``."""
    return message.purpose.split(":", 1)[-1]


def _quiet(moment: datetime, quiet: QuietHours, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    if quiet.start <= quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


@dataclass
class _Day:
    placed: list[datetime]

    def fits(self, moment: datetime, gap: timedelta) -> bool:
        return all(abs(moment - other) >= gap for other in self.placed)


def _candidates(message: PlannedMessage, tz: ZoneInfo) -> Iterable[datetime]:
    day = message.send_at.astimezone(tz).date()
    start = message.send_at
    later, earlier = start + STEP, start - STEP
    while later.astimezone(tz).date() == day or earlier.astimezone(tz).date() == day:
        if later.astimezone(tz).date() == day:
            yield later
        if earlier.astimezone(tz).date() == day:
            yield earlier
        later, earlier = later + STEP, earlier - STEP


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _next_day(message: PlannedMessage, tz: ZoneInfo) -> PlannedMessage | None:
    local = message.send_at.astimezone(tz)
    following = datetime.combine(local.date() + timedelta(days=1), local.time(), tz)
    moved = following.astimezone(message.send_at.tzinfo)
    return replace(message, send_at=moved) if moved < message.expires_at else None


def _note(original: datetime, tz: ZoneInfo, what: str) -> str:
    stamp = original.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f"{what} (daily budget; planned {stamp})"


def apply_daily_budget(
    planned: Sequence[PlannedMessage],
    budget: DailyBudget,
    *,
    timezone: str,
    quiet: QuietHours,
    now: datetime,
    fixed: Iterable[datetime] = (),
) -> tuple[list[PlannedMessage], list[PlannedMessage]]:
    """(messages to send, possibly moved; messages dropped), both with ``budget`` notes."""
    tz = ZoneInfo(timezone)
    gap = timedelta(minutes=budget.min_gap_minutes)
    rank = {code: i for i, code in enumerate(budget.priority)}
    days: defaultdict[date, _Day] = defaultdict(lambda: _Day([]))
    for moment in fixed:
        days[_local_day(moment, tz)].placed.append(moment)
    pending: defaultdict[date, list[tuple[PlannedMessage, datetime]]] = defaultdict(list)
    for message in planned:
        pending[_local_day(message.send_at, tz)].append((message, message.send_at))
    kept: list[PlannedMessage] = []
    dropped: list[PlannedMessage] = []
    while pending:
        day = min(pending)
        todo = sorted(
            pending.pop(day),
            key=lambda item: (rank.get(rule_code(item[0]), len(rank)), item[0].send_at),
        )
        slots = days[day]
        for message, original in todo:
            placed = _place(message, slots, budget, gap, tz, quiet, now)
            if placed is not None:
                if placed.send_at != original:
                    placed = replace(placed, budget=_note(original, tz, "moved"))
                kept.append(placed)
                slots.placed.append(placed.send_at)
                continue
            if rule_code(message) in budget.never_drop:
                carried = _next_day(message, tz)
                if carried is not None:
                    pending[_local_day(carried.send_at, tz)].append((carried, original))
                    continue
                over = replace(message, budget=_note(original, tz, "kept over budget"))
                kept.append(over)
                slots.placed.append(over.send_at)
                continue
            dropped.append(replace(message, budget=_note(original, tz, "dropped"), dropped=True))
    kept.sort(key=lambda m: (m.send_at, m.purpose))
    return kept, dropped


def _place(
    message: PlannedMessage,
    slots: _Day,
    budget: DailyBudget,
    gap: timedelta,
    tz: ZoneInfo,
    quiet: QuietHours,
    now: datetime,
) -> PlannedMessage | None:
    if len(slots.placed) >= budget.max_per_day:
        return None
    if slots.fits(message.send_at, gap):
        return message
    for moment in _candidates(message, tz):
        if moment < now or moment >= message.expires_at or _quiet(moment, quiet, tz):
            continue
        if slots.fits(moment, gap):
            return replace(message, send_at=moment)
    return None
