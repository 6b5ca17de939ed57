"""Dashboard figures: visit states, check-in completion, bands, percentiles, months."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.adherence import (
    CANCELLED,
    Band,
    CheckinAnswer,
    CheckinCompletion,
    band,
    checkin_completion,
    expected_occurrences,
    first_instant,
    month_periods,
    nearest_rank,
    nearest_rank_counted,
    rate,
    visit_cells,
)
from service.domain.calendar import VisitOutcome, build_calendar
from service.domain.checkin_schedule import (
    CheckinOccurrence,
    checkin_occurrences,
    plan_checkin_prompts,
)
from service.domain.protocol import (
    CadenceKind,
    CheckinDefinition,
    Protocol,
    Questionnaire,
    QuietHours,
)
from service.domain.protocol_loader import load_protocol

SCHEDULE = Path(__file__).resolve().parents[2] / "schedules" / "msc-role.toml"
SANTIAGO = "America/Santiago"
WEEKLY = CheckinDefinition(
    code="weekly",
    questionnaire=Questionnaire.SYMPTOMS,
    cadence=CadenceKind.WEEKLY,
    message_key="checkin.symptoms.weekly",
    expires_after_hours=48,
)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(SCHEDULE)


def _weekly(baseline: date, weeks: int) -> list[CheckinOccurrence]:
    return checkin_occurrences(
        [WEEKLY],
        baseline=baseline,
        second_infusion=None,
        follow_up_end=baseline + timedelta(weeks=weeks),
        can_become_pregnant=False,
        timezone=SANTIAGO,
        quiet=QuietHours(),
        preferred_time=None,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (0.0, Band.RED),
        (0.2999, Band.RED),
        (0.30, Band.AMBER),
        (0.7999, Band.AMBER),
        (0.80, Band.GREEN),
        (1.0, Band.GREEN),
    ],
)
def test_bands_edges(value: float | None, expected: Band | None) -> None:
    assert band(value) is expected


def test_rate_of_nothing_is_none_not_zero() -> None:
    assert rate(0, 0) is None
    assert rate(9, 10) == 0.9


def test_visit_states_each_kind(protocol: Protocol) -> None:
    baseline = date(2026, 6, 1)
    calendar = build_calendar(protocol, baseline, None)
    by_code = {v.code: v for v in calendar}
    w1, m1, m2 = by_code["W1"], by_code["M1"], by_code["M2"]
    today = m2.window_start  # M2 just opened
    outcomes = {
        "SCR": VisitOutcome("attended", by_code["SCR"].window_start),
        "INF1": VisitOutcome("attended", by_code["INF1"].window_end + timedelta(days=3)),
        "CALL1": VisitOutcome("missed", by_code["CALL1"].target_date),
    }
    cells = {c.code: c for c in visit_cells(calendar, outcomes, today, None)}
    assert cells["SCR"].state == "attended_in_window"
    assert cells["INF1"].state == "attended_out_of_window"
    assert cells["CALL1"].state == "missed"
    assert cells[w1.code].state == "missed"  # window closed, nothing recorded
    assert cells[m1.code].state == "missed"
    assert cells[m2.code].state == "due"
    assert cells["M3"].state == "upcoming"
    assert cells["M3"].window_start == by_code["M3"].window_start


def test_withdrawal_cancels_what_was_ahead_for_good(protocol: Protocol) -> None:
    calendar = build_calendar(protocol, date(2026, 6, 1), None)
    by_code = {v.code: v for v in calendar}
    withdrawn_on = by_code["M2"].window_start
    long_after = by_code["EOS"].window_end + timedelta(days=30)
    cells = {c.code: c for c in visit_cells(calendar, {}, long_after, withdrawn_on)}
    assert cells["M1"].state == "missed"  # already missed before the withdrawal
    assert cells["M2"].state == CANCELLED  # due on the day of withdrawal
    assert cells["EOS"].state == CANCELLED  # never turns "missed" later


def test_occurrences_agree_with_the_planner() -> None:
    baseline = date(2027, 1, 4)
    now = datetime(2027, 1, 20, 12, tzinfo=UTC)
    planned = plan_checkin_prompts(
        [WEEKLY],
        baseline=baseline,
        second_infusion=None,
        follow_up_end=baseline + timedelta(weeks=6),
        can_become_pregnant=False,
        timezone=SANTIAGO,
        quiet=QuietHours(),
        preferred_time=None,
        now=now,
    )
    still_open = [o for o in _weekly(baseline, 6) if o.expires_at > now]
    assert [p.occurrence for p in planned] == [o.day.isoformat() for o in still_open]
    assert [p.expires_at for p in planned] == [o.expires_at for o in still_open]
    assert still_open[0].key == f"checkin:weekly:{still_open[0].day.isoformat()}"


def test_expected_counts_closed_windows_after_enrolment_only() -> None:
    baseline = date(2027, 1, 4)
    occurrences = _weekly(baseline, 8)
    enrolled = occurrences[1].expires_at  # the first two closed before enrolment
    now = occurrences[5].expires_at + timedelta(hours=1)  # occurrence 6 still open
    expected = expected_occurrences(occurrences, enrolled_at=enrolled, until=now)
    assert [o.day for o in expected] == [o.day for o in occurrences[2:6]]


def test_completion_on_time_late_and_longest_run() -> None:
    occurrences = _weekly(date(2027, 1, 4), 10)
    keys = [o.key for o in occurrences]
    answers = {
        keys[0]: CheckinAnswer(complete=True, late=False),
        keys[1]: CheckinAnswer(complete=True, late=True),
        # 2, 3, 4 missed; 5 only partly answered: still a miss
        keys[5]: CheckinAnswer(complete=False, late=False),
        keys[6]: CheckinAnswer(complete=True, late=False),
        # 7 missed
        keys[8]: CheckinAnswer(complete=True, late=False),
        "report:symptoms:SM1": CheckinAnswer(complete=True, late=False),  # not a prompt
    }
    result = checkin_completion(occurrences[:9], answers)
    assert result == CheckinCompletion(
        expected=9, completed=4, on_time=3, late=1, longest_miss_run=4
    )
    assert result.rate == pytest.approx(4 / 9)
    assert result.band is Band.AMBER


def test_completion_sums_keep_the_longest_run() -> None:
    total = CheckinCompletion(10, 9, 8, 1, 1) + CheckinCompletion(4, 0, 0, 0, 4)
    assert total == CheckinCompletion(14, 9, 8, 1, 4)
    assert checkin_completion([], {}).rate is None


@given(
    st.lists(st.integers(min_value=-50, max_value=5_000), max_size=300),
    st.sampled_from([0.5, 0.95, 0.01, 1.0]),
)
def test_nearest_rank_of_counts_is_nearest_rank_of_the_values(
    values: list[int], fraction: float
) -> None:
    counts: dict[int, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    assert nearest_rank_counted(counts, fraction) == nearest_rank(values, fraction)


def test_nearest_rank_percentiles() -> None:
    assert nearest_rank([], 0.5) is None
    values = [float(v) for v in range(1, 101)]
    assert nearest_rank(values, 0.5) == 50
    assert nearest_rank(values, 0.95) == 95
    assert nearest_rank([7.0], 0.95) == 7
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2  # unsorted input


def test_months_in_the_site_zone() -> None:
    # 1 May 2027 02:00 UTC is still 30 April in Santiago (UTC-4 in winter).
    periods = month_periods(datetime(2027, 5, 1, 2, 0, tzinfo=UTC), SANTIAGO)
    assert periods.this.month == date(2027, 4, 1)
    assert periods.last.month == date(2027, 3, 1)


def test_month_boundaries_through_dst() -> None:
    # April 2026 holds the change back to UTC-4 (5 April): the month starts at
    # 03:00 UTC (UTC-3) and ends at 04:00 UTC (UTC-4); March is wholly UTC-3.
    periods = month_periods(datetime(2026, 4, 15, tzinfo=UTC), SANTIAGO)
    assert periods.this.start == datetime(2026, 4, 1, 3, tzinfo=UTC)
    assert periods.this.end == datetime(2026, 5, 1, 4, tzinfo=UTC)
    assert periods.last.start == datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert periods.last.end == periods.this.start
    assert periods.this.holds(datetime(2026, 5, 1, 3, 59, tzinfo=UTC))  # 23:59 on 30 April
    assert not periods.this.holds(periods.this.end)
    assert periods.this.holds_day(date(2026, 4, 30))
    assert not periods.this.holds_day(date(2026, 5, 1))


def test_a_skipped_midnight_starts_the_day_at_one() -> None:
    # 6 September 2026: Santiago's clocks jump from 00:00 to 01:00.
    start = first_instant(date(2026, 9, 6), ZoneInfo(SANTIAGO))
    local = start.astimezone(ZoneInfo(SANTIAGO))
    assert (local.date(), local.time()) == (date(2026, 9, 6), time(1, 0))
    assert (start - timedelta(seconds=1)).astimezone(ZoneInfo(SANTIAGO)).date() == date(2026, 9, 5)


def test_january_wraps_to_december() -> None:
    periods = month_periods(datetime(2027, 1, 13, 15, tzinfo=UTC), SANTIAGO)
    assert periods.last.month == date(2026, 12, 1)
    assert periods.this.end == datetime(2027, 2, 1, 3, tzinfo=UTC)
