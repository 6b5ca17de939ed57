"""Calendar invariants over random baselines, second-infusion dates and holiday sets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.calendar import (
    CalendarVisit,
    add_months,
    apply_offset,
    build_calendar,
    weekend_or,
)
from service.domain.protocol import Anchor
from service.domain.protocol_loader import load_protocol

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "schedules" / "msc-role.toml")
SECOND = PROTOCOL.second_infusion_visit.code
FAST = settings(max_examples=200, deadline=None)

baselines = st.dates(date(2019, 1, 1), date(2030, 12, 31))
second_gaps = st.none() | st.integers(150, 240)  # days after baseline, None = not recorded
# Day numbers relative to baseline - 30, covering screening to end of study. Runs of
# closed days (a clinic closed for weeks) make "no working day in the window" happen.
single_days = st.frozensets(st.integers(0, 800), max_size=60)
closed_runs = st.lists(st.tuples(st.integers(0, 800), st.integers(1, 25)), max_size=4)
holiday_days = st.builds(
    lambda days, runs: days | {start + n for start, length in runs for n in range(length)},
    single_days,
    closed_runs,
)


def scenario(
    baseline: date, gap: int | None, holidays: frozenset[int]
) -> tuple[list[CalendarVisit], date | None, frozenset[date]]:
    actual = None if gap is None else baseline + timedelta(days=gap)
    start = baseline - timedelta(days=30)
    closed = frozenset(start + timedelta(days=n) for n in holidays)
    return build_calendar(PROTOCOL, baseline, actual, closed), actual, closed


@FAST
@given(baselines, second_gaps, holiday_days)
def test_windows_never_invert_and_targets_stay_inside(
    baseline: date, gap: int | None, holidays: frozenset[int]
) -> None:
    visits, actual, _ = scenario(baseline, gap, holidays)
    assert [v.code for v in visits] == [d.code for d in PROTOCOL.visits]
    for visit in visits:
        assert visit.window_start <= visit.window_end
        if visit.code == SECOND and actual is not None:
            assert visit.target_date == actual  # may lie outside: that is the point
        else:
            assert visit.in_window(visit.target_date), visit


@FAST
@given(baselines, second_gaps, holiday_days)
def test_post_infusion_visits_follow_the_second_infusion(
    baseline: date, gap: int | None, holidays: frozenset[int]
) -> None:
    visits, actual, _ = scenario(baseline, gap, holidays)
    second = next(v for v in visits if v.code == SECOND)
    anchor = actual if actual is not None else second.target_date
    for visit in visits:
        if visit.anchor == Anchor.SECOND_INFUSION:
            assert visit.anchor_date == anchor
            assert visit.target_date >= anchor
            assert visit.window_start >= anchor
        else:
            assert visit.anchor_date == baseline


@FAST
@given(baselines, st.integers(150, 240), holiday_days)
def test_recording_the_second_infusion_moves_nothing_before_it(
    baseline: date, gap: int, holidays: frozenset[int]
) -> None:
    planned, _, closed = scenario(baseline, None, holidays)
    recorded, _, _ = scenario(baseline, gap, holidays)
    for before, after in zip(planned, recorded, strict=True):
        if before.anchor == Anchor.BASELINE_INFUSION and before.code != SECOND:
            assert before == after
    assert build_calendar(PROTOCOL, baseline, None, weekend_or(closed)) == planned


@FAST
@given(baselines, second_gaps, holiday_days)
def test_shifts_land_on_the_nearest_working_day_in_the_window(
    baseline: date, gap: int | None, holidays: frozenset[int]
) -> None:
    visits, actual, closed = scenario(baseline, gap, holidays)
    non_working = weekend_or(closed)
    for visit, definition in zip(visits, PROTOCOL.visits, strict=True):
        if visit.code == SECOND and actual is not None:
            continue
        planned = apply_offset(visit.anchor_date, definition.offset)
        assert visit.window_start == planned - timedelta(days=definition.window_before_days)
        assert visit.window_end == planned + timedelta(days=definition.window_after_days)
        window = [
            visit.window_start + timedelta(days=n)
            for n in range((visit.window_end - visit.window_start).days + 1)
        ]
        working = [d for d in window if not non_working(d)]
        if visit.shifted:
            assert definition.shift_off_working_days
            assert non_working(planned)
            assert not non_working(visit.target_date)
            assert visit.in_window(visit.target_date)
            distance = abs((visit.target_date - planned).days)
            assert all(abs((d - planned).days) >= distance for d in working)
        else:
            assert visit.target_date == planned
            if definition.shift_off_working_days and non_working(planned):
                assert working == []  # kept only because nothing in the window was open


@FAST
@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(-240, 240))
def test_add_months_lands_in_the_right_month_never_past_its_end(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
    if result.day < start.day:  # clamped: must be the last day of that month
        assert (result + timedelta(days=1)).day == 1
