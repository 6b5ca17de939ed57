"""The daily message budget, on the shipped protocol's infusion day and across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from service.adapters.holidays_cl import non_working_predicate
from service.domain.calendar import build_calendar
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.daily_budget import apply_daily_budget, rule_code
from service.domain.protocol import DailyBudget, QuietHours
from service.domain.protocol_loader import load_protocol
from service.domain.reminders import PlannedMessage, plan_visit_reminders

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "schedules" / "msc-role.toml")
SANTIAGO = ZoneInfo("America/Santiago")
QUIET = QuietHours()
BUDGET = PROTOCOL.daily_budget
assert BUDGET is not None


def planned(baseline: date, now: datetime) -> list[PlannedMessage]:
    calendar = build_calendar(PROTOCOL, baseline, None, non_working_predicate())
    reminders = plan_visit_reminders(
        calendar,
        PROTOCOL.reminders,
        timezone="America/Santiago",
        quiet=QUIET,
        preferred_time=None,
        now=now,
        skip_codes=frozenset(),
    )
    checkins = plan_checkin_prompts(
        PROTOCOL.checkins,
        baseline=baseline,
        second_infusion=None,
        follow_up_end=max(v.window_end for v in calendar),
        can_become_pregnant=True,
        timezone="America/Santiago",
        quiet=QUIET,
        preferred_time=None,
        now=now,
    )
    return reminders + checkins


def on(day: date, messages: list[PlannedMessage]) -> list[tuple[str, str]]:
    return sorted(
        (m.send_at.astimezone(SANTIAGO).strftime("%H:%M"), rule_code(m))
        for m in messages
        if m.send_at.astimezone(SANTIAGO).date() == day
    )


def test_the_second_infusion_day_gets_two_texts_and_the_rest_is_recorded() -> None:
    baseline, infusion_2 = date(2027, 1, 6), date(2027, 7, 6)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    plan = planned(baseline, now)
    assert len(on(infusion_2, plan)) == 4  # the pile-up the budget is for
    kept, dropped = apply_daily_budget(
        plan, BUDGET, timezone="America/Santiago", quiet=QUIET, now=now
    )
    assert on(infusion_2, kept) == [("09:00", "infusion_morning"), ("18:00", "phone_day_before")]
    assert [rule_code(m) for m in dropped if "2027-07-06" in (m.budget or "")] == [
        "clinic_week_before"
    ]
    carried = [m for m in kept if rule_code(m) == "pregnancy_monthly" and m.budget]
    assert any("planned 2027-07-06 10:00" in (m.budget or "") for m in carried)
    next_day = on(infusion_2 + timedelta(days=1), kept)
    assert next_day == [("10:00", "symptoms_weekly"), ("12:00", "pregnancy_monthly")]
    assert all(m.budget and m.dropped for m in dropped)


def test_every_day_respects_the_budget_and_no_safety_question_is_dropped() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    plan = planned(date(2027, 1, 6), now)
    kept, dropped = apply_daily_budget(
        plan, BUDGET, timezone="America/Santiago", quiet=QUIET, now=now
    )
    by_day: dict[date, list[datetime]] = {}
    for message in kept:
        by_day.setdefault(message.send_at.astimezone(SANTIAGO).date(), []).append(message.send_at)
        assert message.send_at < message.expires_at
        assert 9 <= message.send_at.astimezone(SANTIAGO).hour < 21
    over = [m for m in kept if "over budget" in (m.budget or "")]
    for day, moments in by_day.items():
        moments.sort()
        if not any(m.send_at.astimezone(SANTIAGO).date() == day for m in over):
            assert len(moments) <= 2, day
            assert all(b - a >= timedelta(hours=2) for a, b in itertools.pairwise(moments)), day
    assert not [m for m in dropped if m.kind == "checkin"]
    assert {(m.purpose, m.occurrence) for m in kept} | {
        (m.purpose, m.occurrence) for m in dropped
    } == {(m.purpose, m.occurrence) for m in plan}


def _message(code: str, local: datetime, hours: int = 12) -> PlannedMessage:
    at = local.astimezone(UTC)
    return PlannedMessage(
        "reminder",
        f"reminder:{code}",
        local.date().isoformat(),
        "k",
        at,
        at + timedelta(hours=hours),
    )


def test_the_gap_is_kept_in_real_time_on_both_clock_changes() -> None:
    budget = DailyBudget(max_per_day=2, min_gap_minutes=120, priority=("a", "b"))
    for day in (date(2027, 4, 4), date(2027, 9, 5)):  # Santiago: clocks back, clocks forward
        a = _message("a", datetime(day.year, day.month, day.day, 10, 0, tzinfo=SANTIAGO))
        b = _message("b", datetime(day.year, day.month, day.day, 10, 30, tzinfo=SANTIAGO))
        kept, dropped = apply_daily_budget(
            [b, a],
            budget,
            timezone="America/Santiago",
            quiet=QUIET,
            now=a.send_at - timedelta(days=1),
        )
        assert dropped == []
        moved = next(m for m in kept if m.purpose == "reminder:b")
        assert moved.send_at - a.send_at == timedelta(hours=2)
        assert moved.budget is not None and "moved" in moved.budget


def test_messages_already_sent_count_against_the_day() -> None:
    budget = DailyBudget(max_per_day=2, min_gap_minutes=120)
    day = datetime(2027, 3, 3, 9, 0, tzinfo=SANTIAGO)
    sent = [day.astimezone(UTC), (day + timedelta(hours=3)).astimezone(UTC)]
    late = _message("c", day + timedelta(hours=6))
    kept, dropped = apply_daily_budget(
        [late], budget, timezone="America/Santiago", quiet=QUIET, now=day, fixed=sent
    )
    assert kept == [] and [m.dropped for m in dropped] == [True]


def test_a_never_drop_message_that_cannot_move_is_kept_over_budget() -> None:
    budget = DailyBudget(
        max_per_day=1, min_gap_minutes=0, priority=("a",), never_drop=frozenset("b")
    )
    day = datetime(2027, 3, 3, 10, 0, tzinfo=SANTIAGO)
    a, b = _message("a", day), _message("b", day, hours=2)
    kept, dropped = apply_daily_budget(
        [a, b], budget, timezone="America/Santiago", quiet=QUIET, now=day - timedelta(hours=1)
    )
    assert dropped == [] and len(kept) == 2
    assert "over budget" in (next(m for m in kept if m.purpose == "reminder:b").budget or "")
