"""The pure reminder and check-in planners: wall-clock times across DST, quiet hours,
expiry and catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.calendar import CalendarVisit, build_calendar
from service.domain.checkin_schedule import plan_checkin_prompts
from service.domain.protocol import (
    Anchor,
    CadenceKind,
    CheckinDefinition,
    Questionnaire,
    QuietHours,
    ReminderRule,
    VisitKind,
)
from service.domain.protocol_loader import load_protocol
from service.domain.reminders import local_moment, next_allowed, plan_visit_reminders
from service.settings import REPO_ROOT

SCL = ZoneInfo("America/Santiago")
EASTER = ZoneInfo("Pacific/Easter")
QUIET = QuietHours()
PROTOCOL = load_protocol(REPO_ROOT / "schedules" / "msc-role.toml")
WEEK_BEFORE = ReminderRule(
    "clinic_7d", VisitKind.CLINIC, 7, time(10, 0), "reminder.clinic.week_before"
)
DAY_BEFORE = ReminderRule(
    "clinic_1d", VisitKind.CLINIC, 1, time(18, 0), "reminder.clinic.day_before"
)


def visit(target: date, code: str = "M3", kind: VisitKind = VisitKind.CLINIC) -> CalendarVisit:
    return CalendarVisit(
        code=code,
        name_key="visit.month_3",
        kind=kind,
        anchor=Anchor.BASELINE_INFUSION,
        anchor_date=target - timedelta(days=90),
        target_date=target,
        window_start=target - timedelta(days=7),
        window_end=target + timedelta(days=7),
        shifted=False,
    )


def plan(
    visits: list[CalendarVisit],
    now: datetime,
    *,
    tz: str = "America/Santiago",
    preferred: time | None = None,
    rules: tuple[ReminderRule, ...] = (WEEK_BEFORE, DAY_BEFORE),
) -> list:  # type: ignore[type-arg]
    return plan_visit_reminders(
        visits, rules, timezone=tz, quiet=QUIET, preferred_time=preferred, now=now
    )


@pytest.mark.parametrize(
    ("target", "zone", "offset_hours"),
    [
        # Chile leaves DST on Sunday 4 April 2027 and enters it on Sunday 5 September 2027.
        (date(2027, 4, 10), SCL, -3),  # reminder on Saturday 3 April: still summer time
        (date(2027, 4, 12), SCL, -4),
        (date(2027, 4, 1), SCL, -3),
        (date(2027, 9, 13), SCL, -3),
        (date(2027, 9, 8), SCL, -4),
        (date(2027, 4, 12), EASTER, -6),
        (date(2027, 4, 1), EASTER, -5),
        (date(2027, 9, 13), EASTER, -5),
    ],
)
def test_ten_o_clock_stays_ten_o_clock_across_dst(
    target: date, zone: ZoneInfo, offset_hours: int
) -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    planned = plan([visit(target)], now, tz=str(zone), rules=(WEEK_BEFORE,))
    local = planned[0].send_at.astimezone(zone)
    assert local.time() == time(10, 0)
    assert local.date() == target - timedelta(days=7)
    assert planned[0].send_at.tzinfo is UTC
    assert local.utcoffset() == timedelta(hours=offset_hours)


def test_both_changes_of_a_year_give_different_utc_hours() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    before_april = plan([visit(date(2027, 4, 10))], now, rules=(WEEK_BEFORE,))[0]  # Sat 3 Apr
    after_april = plan([visit(date(2027, 4, 12))], now, rules=(WEEK_BEFORE,))[0]  # Mon 5 Apr
    before_sept = plan([visit(date(2027, 9, 11))], now, rules=(WEEK_BEFORE,))[0]  # Sat 4 Sep
    after_sept = plan([visit(date(2027, 9, 13))], now, rules=(WEEK_BEFORE,))[0]  # Mon 6 Sep
    assert before_april.send_at.hour == 13 and after_april.send_at.hour == 14
    assert before_sept.send_at.hour == 14 and after_sept.send_at.hour == 13
    for row in (before_april, after_april, before_sept, after_sept):
        assert row.send_at.astimezone(SCL).time() == time(10, 0)


def test_a_skipped_local_time_moves_forward() -> None:
    # Clocks jump from 24:00 on Saturday 4 September 2027 to 01:00: 00:30 does not exist.
    moment = local_moment(date(2027, 9, 5), time(0, 30), SCL)
    assert moment.astimezone(SCL).time() >= time(0, 30)
    assert moment.astimezone(SCL).date() == date(2027, 9, 5)


def test_quiet_hours_push_to_the_morning() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    planned = plan([visit(date(2027, 3, 10))], now, preferred=time(22, 30), rules=(WEEK_BEFORE,))
    local = planned[0].send_at.astimezone(SCL)
    assert (local.date(), local.time()) == (date(2027, 3, 4), time(9, 0))


def test_next_allowed_inside_and_outside() -> None:
    late = datetime(2027, 3, 3, 21, 15, tzinfo=SCL).astimezone(UTC)
    early = datetime(2027, 3, 3, 6, 0, tzinfo=SCL).astimezone(UTC)
    noon = datetime(2027, 3, 3, 12, 0, tzinfo=SCL).astimezone(UTC)
    assert next_allowed(late, SCL, QUIET).astimezone(SCL) == datetime(2027, 3, 4, 9, 0, tzinfo=SCL)
    assert next_allowed(early, SCL, QUIET).astimezone(SCL) == datetime(2027, 3, 3, 9, 0, tzinfo=SCL)
    assert next_allowed(noon, SCL, QUIET) == noon


def test_day_before_reminder_pushed_past_the_visit_is_dropped() -> None:
    # A 22:30 preferred time on the day before would move to 09:00 on the visit day.
    now = datetime(2027, 1, 1, tzinfo=UTC)
    planned = plan([visit(date(2027, 3, 10))], now, preferred=time(22, 30), rules=(DAY_BEFORE,))
    assert planned == []


def test_late_enrolment_gets_the_next_reminder_not_past_ones() -> None:
    # Now: Wednesday 3 March 2027 09:30 local; visits on 1 March (past) and 9 March.
    now = datetime(2027, 3, 3, 9, 30, tzinfo=SCL).astimezone(UTC)
    planned = plan([visit(date(2027, 3, 1), "M2"), visit(date(2027, 3, 9), "M3")], now)
    assert {p.occurrence.split("@")[0] for p in planned} == {"M3"}
    week_before = next(p for p in planned if p.purpose == "reminder:clinic_7d")
    assert week_before.send_at == now  # its moment (2 March 10:00) just passed
    day_before = next(p for p in planned if p.purpose == "reminder:clinic_1d")
    assert day_before.send_at.astimezone(SCL) == datetime(2027, 3, 8, 18, 0, tzinfo=SCL)
    assert week_before.expires_at == day_before.send_at


def test_long_overdue_week_before_reminder_is_left_to_the_day_before_one() -> None:
    # Three days after the week-before moment its "in a week" would be false.
    now = datetime(2027, 3, 5, 15, 0, tzinfo=SCL).astimezone(UTC)
    planned = plan([visit(date(2027, 3, 9), "M3")], now)
    assert [p.purpose for p in planned] == ["reminder:clinic_1d"]


def test_catch_up_at_night_waits_for_morning() -> None:
    now = datetime(2027, 3, 2, 23, 0, tzinfo=SCL).astimezone(UTC)
    planned = plan([visit(date(2027, 3, 9))], now, rules=(WEEK_BEFORE,))
    assert planned[0].send_at.astimezone(SCL) == datetime(2027, 3, 3, 9, 0, tzinfo=SCL)


def test_moved_visit_gets_a_new_occurrence_key() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    early = build_calendar(PROTOCOL, date(2026, 11, 2), date(2027, 5, 3))
    late = build_calendar(PROTOCOL, date(2026, 11, 2), date(2027, 5, 24))
    keys_early = {p.occurrence for p in plan(early, now, rules=PROTOCOL.reminders)}
    keys_late = {p.occurrence for p in plan(late, now, rules=PROTOCOL.reminders)}
    assert any(k.startswith("M7@") for k in keys_early - keys_late)
    assert {k for k in keys_early if k.startswith("M1@")} == {
        k for k in keys_late if k.startswith("M1@")
    }


def test_every_planned_time_is_outside_quiet_hours_and_before_expiry() -> None:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    calendar = build_calendar(PROTOCOL, date(2026, 10, 15), None)
    for preferred in (None, time(6, 0), time(12, 0), time(20, 59), time(23, 0)):
        for p in plan(calendar, now, preferred=preferred, rules=PROTOCOL.reminders):
            local = p.send_at.astimezone(SCL).time()
            assert time(9, 0) <= local < time(21, 0)
            assert p.send_at < p.expires_at


def test_checkin_prompts_follow_cadences() -> None:
    weekly = CheckinDefinition(
        "weekly", Questionnaire.SYMPTOMS, CadenceKind.WEEKLY, "checkin.symptoms.weekly"
    )
    after = CheckinDefinition(
        "post",
        Questionnaire.SYMPTOMS,
        CadenceKind.AFTER_INFUSION,
        "checkin.symptoms.post_infusion",
        days=3,
        expires_after_hours=24,
    )
    pregnancy = CheckinDefinition(
        "preg",
        Questionnaire.PREGNANCY,
        CadenceKind.MONTHLY,
        "checkin.pregnancy.prompt",
        only_if_can_become_pregnant=True,
        expires_after_hours=72,
    )
    common = {
        "baseline": date(2027, 1, 31),
        "second_infusion": date(2027, 8, 2),
        "follow_up_end": date(2028, 2, 15),
        "timezone": "America/Santiago",
        "quiet": QUIET,
        "preferred_time": None,
        "now": datetime(2027, 1, 1, tzinfo=UTC),
    }
    planned = plan_checkin_prompts(
        (weekly, after, pregnancy),
        can_become_pregnant=True,
        **common,  # type: ignore[arg-type]
    )
    occurrences = {(p.purpose, p.occurrence) for p in planned}
    assert ("checkin:preg", "2027-02-28") in occurrences  # month-end clamped
    assert ("checkin:post", "2027-02-03") in occurrences  # day 3 after baseline
    assert ("checkin:post", "2027-08-05") in occurrences  # day 3 after the second
    assert ("checkin:weekly", "2027-02-07") in occurrences
    day_params = next(p.params for p in planned if p.occurrence == "2027-08-03")
    assert day_params["day"] == "1"
    no_pregnancy = plan_checkin_prompts(
        (pregnancy,),
        can_become_pregnant=False,
        **common,  # type: ignore[arg-type]
    )
    assert no_pregnancy == []
