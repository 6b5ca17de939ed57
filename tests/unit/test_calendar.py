"""Visit calendar: month-end clamping, re-anchoring, holiday shifts and statuses."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from service.domain.calendar import (
    CalendarVisit,
    VisitOutcome,
    VisitStatus,
    add_months,
    apply_offset,
    build_calendar,
    visit_status,
    weekend_or,
)
from service.domain.protocol import Anchor, Offset, OffsetUnit, Protocol, VisitKind
from service.domain.protocol_loader import load_protocol

SCHEDULE = Path(__file__).resolve().parents[2] / "schedules" / "msc-role.toml"

# Chilean public holidays, hard-coded on purpose: the domain never asks a library.
NEW_YEAR_2027 = date(2027, 1, 1)  # Friday
FIESTAS_PATRIAS_2027 = frozenset({date(2027, 9, 17), date(2027, 9, 18), date(2027, 9, 19)})
IMMACULATE_CONCEPTION_2027 = date(2027, 12, 8)  # Wednesday
CHILE_2027 = frozenset({NEW_YEAR_2027, IMMACULATE_CONCEPTION_2027, *FIESTAS_PATRIAS_2027})

PRE_INFUSION = ("SCR", "INF1", "CALL1", "W1", "M1", "M2", "M3", "M4", "M5")
POST_INFUSION = ("CALL2", "W7", "M7", "M8", "M9", "M10", "M11", "EOS")


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(SCHEDULE)


def by_code(visits: list[CalendarVisit]) -> dict[str, CalendarVisit]:
    return {v.code: v for v in visits}


# ---------------------------------------------------------------- month arithmetic


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # across the year end
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2027, 1, 15), 0, date(2027, 1, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2028, 3, 31), -1, date(2028, 2, 29)),
        (date(2027, 1, 15), -1, date(2026, 12, 15)),
        (date(2027, 5, 31), -15, date(2026, 2, 28)),
        (date(2027, 7, 31), -6, date(2027, 1, 31)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_month_offsets_come_from_the_anchor_not_chained() -> None:
    # Chaining would give 31 Jan -> 28 Feb -> 28 Mar; from the anchor M2 is 31 Mar.
    assert add_months(date(2027, 1, 31), 2) == date(2027, 3, 31)
    assert add_months(add_months(date(2027, 1, 31), 1), 1) == date(2027, 3, 28)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (Offset(-14, OffsetUnit.DAYS), date(2027, 1, 17)),
        (Offset(0, OffsetUnit.DAYS), date(2027, 1, 31)),
        (Offset(1, OffsetUnit.WEEKS), date(2027, 2, 7)),
        (Offset(-2, OffsetUnit.WEEKS), date(2027, 1, 17)),
        (Offset(1, OffsetUnit.MONTHS), date(2027, 2, 28)),
        (Offset(-2, OffsetUnit.MONTHS), date(2026, 11, 30)),
    ],
)
def test_apply_offset(offset: Offset, expected: date) -> None:
    assert apply_offset(date(2027, 1, 31), offset) == expected


# ---------------------------------------------------------------- the shipped schedule


def test_calendar_keeps_protocol_order_and_anchors(protocol: Protocol) -> None:
    baseline = date(2027, 3, 1)  # a Monday
    visits = build_calendar(protocol, baseline, None)
    assert [v.code for v in visits] == [v.code for v in protocol.visits]
    days = by_code(visits)
    assert days["SCR"].target_date == date(2027, 2, 15)
    assert (days["SCR"].window_start, days["SCR"].window_end) == (
        date(2027, 2, 1),
        date(2027, 2, 28),
    )
    assert days["INF1"].target_date == baseline
    assert days["INF1"].window_start == days["INF1"].window_end == baseline
    assert days["CALL1"].window_end == date(2027, 3, 3)
    assert days["W1"].target_date == date(2027, 3, 8)
    assert days["M5"].target_date == date(2027, 8, 2)
    assert days["INF2"].target_date == date(2027, 9, 1)
    assert (days["INF2"].window_start, days["INF2"].window_end) == (
        date(2027, 8, 25),
        date(2027, 9, 15),
    )
    for code in PRE_INFUSION:
        assert days[code].anchor_date == baseline
        assert days[code].anchor is Anchor.BASELINE_INFUSION
    for code in POST_INFUSION:
        assert days[code].anchor_date == date(2027, 9, 1)
        assert days[code].anchor is Anchor.SECOND_INFUSION
    assert days["CALL2"].target_date == date(2027, 9, 2)
    assert days["EOS"].target_date == date(2028, 3, 1)


def test_leap_day_second_infusion(protocol: Protocol) -> None:
    days = by_code(build_calendar(protocol, date(2027, 8, 31), None))
    assert days["INF2"].target_date == date(2028, 2, 29)  # a Tuesday
    assert days["M7"].target_date == date(2028, 3, 29)


def test_unrecorded_second_infusion_anchors_on_its_shifted_plan(protocol: Protocol) -> None:
    # 31 Aug 2026 + 6 months = Sunday 28 Feb 2027 -> Monday 1 March (1 day) beats Friday (2).
    days = by_code(build_calendar(protocol, date(2026, 8, 31), None))
    inf2 = days["INF2"]
    assert inf2.target_date == date(2027, 3, 1)
    assert inf2.shifted
    assert (inf2.window_start, inf2.window_end) == (date(2027, 2, 21), date(2027, 3, 14))
    assert days["CALL2"].anchor_date == date(2027, 3, 1)
    assert days["CALL2"].target_date == date(2027, 3, 2)


@pytest.mark.parametrize("delay_days", [-7, -3, 5, 14, 30])
def test_recorded_second_infusion_moves_only_later_visits(
    protocol: Protocol, delay_days: int
) -> None:
    baseline = date(2027, 3, 1)
    planned = build_calendar(protocol, baseline, None)
    actual = by_code(planned)["INF2"].target_date + timedelta(days=delay_days)
    moved = by_code(build_calendar(protocol, baseline, actual))
    for visit in planned:
        if visit.code in PRE_INFUSION:
            assert moved[visit.code] == visit
    for code in POST_INFUSION:
        assert moved[code].anchor_date == actual
        assert moved[code].target_date >= actual
        definition = protocol.visit(code)
        unshifted = apply_offset(actual, definition.offset)
        assert moved[code].window_start == unshifted - timedelta(days=definition.window_before_days)
        assert moved[code].window_end == unshifted + timedelta(days=definition.window_after_days)
    assert moved["CALL2"].target_date == actual + timedelta(days=1)
    assert moved["M7"].window_start == add_months(actual, 1) - timedelta(days=7)
    assert moved["EOS"].window_end == add_months(actual, 6) + timedelta(days=14)


def test_recorded_second_infusion_is_the_inf2_target_window_unchanged(protocol: Protocol) -> None:
    baseline = date(2027, 3, 1)
    planned = by_code(build_calendar(protocol, baseline, None))["INF2"]
    late = date(2027, 9, 30)  # window closes on 15 September
    inf2 = by_code(build_calendar(protocol, baseline, late))["INF2"]
    assert inf2.target_date == late
    assert not inf2.shifted
    assert (inf2.window_start, inf2.window_end) == (planned.window_start, planned.window_end)
    outcome = VisitOutcome("attended", late)
    assert visit_status(inf2, outcome, late) is VisitStatus.ATTENDED_OUT_OF_WINDOW


def test_recorded_second_infusion_on_a_saturday_is_not_shifted(protocol: Protocol) -> None:
    actual = date(2027, 9, 4)  # a Saturday: what happened happened
    inf2 = by_code(build_calendar(protocol, date(2027, 3, 1), actual))["INF2"]
    assert inf2.target_date == actual
    assert not inf2.shifted


# ---------------------------------------------------------------- shifting


def test_fiestas_patrias_moves_visit_to_the_thursday_before(protocol: Protocol) -> None:
    # M3 from 17 June 2027 is Friday 17 Sept; 17/18/19 closed, Monday 20 is 3 days away.
    m3 = by_code(build_calendar(protocol, date(2027, 6, 17), None, CHILE_2027))["M3"]
    assert m3.target_date == date(2027, 9, 16)
    assert m3.shifted
    # the window stays around the holiday target
    assert (m3.window_start, m3.window_end) == (date(2027, 9, 10), date(2027, 9, 24))


def test_new_year_moves_week_1_to_new_years_eve(protocol: Protocol) -> None:
    w1 = by_code(build_calendar(protocol, date(2026, 12, 25), None, CHILE_2027))["W1"]
    assert w1.target_date == date(2026, 12, 31)
    assert w1.shifted


def test_weekend_moves_to_nearest_working_day(protocol: Protocol) -> None:
    days = by_code(build_calendar(protocol, date(2027, 3, 6), None))  # baseline on a Saturday
    assert days["W1"].target_date == date(2027, 3, 12)  # Saturday 13 -> Friday 12
    assert days["W1"].shifted
    # M1 = Tuesday 6 April, a working day: untouched
    assert days["M1"].target_date == date(2027, 4, 6)
    assert not days["M1"].shifted


def test_sunday_prefers_the_closer_monday(protocol: Protocol) -> None:
    w1 = by_code(build_calendar(protocol, date(2027, 3, 7), None))["W1"]
    assert w1.target_date == date(2027, 3, 15)  # Sunday 14: Monday is 1 day, Friday 2


def test_tie_prefers_the_earlier_day(protocol: Protocol) -> None:
    # M5 from 8 July 2027 is Wednesday 8 Dec (holiday): Tuesday and Thursday tie.
    m5 = by_code(build_calendar(protocol, date(2027, 7, 8), None, CHILE_2027))["M5"]
    assert m5.target_date == date(2027, 12, 7)


def test_visits_without_the_flag_are_never_shifted(protocol: Protocol) -> None:
    days = by_code(build_calendar(protocol, date(2027, 3, 5), None))  # Friday baseline
    assert days["CALL1"].target_date == date(2027, 3, 6)  # a Saturday phone call stays
    assert not days["CALL1"].shifted


def test_no_working_day_in_window_keeps_the_target(protocol: Protocol) -> None:
    closed = frozenset({date(2027, 3, 11), date(2027, 3, 12), date(2027, 3, 15)})
    w1 = by_code(build_calendar(protocol, date(2027, 3, 6), None, closed))["W1"]
    assert w1.target_date == date(2027, 3, 13)  # Thu..Mon all closed
    assert not w1.shifted


def test_shift_never_leaves_an_asymmetric_window(protocol: Protocol) -> None:
    # INF2 planned Wed 1 Sept 2027, window 25 Aug..15 Sept (7 before, 14 after). With
    # 25 Aug..8 Sept closed, Tue 24 Aug is as near as Thu 9 Sept but outside the window.
    closed = frozenset(date(2027, 8, 25) + timedelta(days=n) for n in range(15))
    days = by_code(build_calendar(protocol, date(2027, 3, 1), None, closed))
    assert days["INF2"].target_date == date(2027, 9, 9)
    assert days["CALL2"].anchor_date == date(2027, 9, 9)


def test_non_working_forms_agree(protocol: Protocol) -> None:
    baseline = date(2027, 6, 17)
    as_set = build_calendar(protocol, baseline, None, CHILE_2027)
    assert as_set == build_calendar(protocol, baseline, None, weekend_or(CHILE_2027))
    assert build_calendar(protocol, baseline, None) == build_calendar(
        protocol, baseline, None, frozenset()
    )


def test_a_predicate_is_trusted_whole(protocol: Protocol) -> None:
    # a caller whose site opens at weekends passes a predicate without them
    w1 = by_code(build_calendar(protocol, date(2027, 3, 6), None, lambda d: False))["W1"]
    assert w1.target_date == date(2027, 3, 13)
    assert not w1.shifted


def test_weekend_or() -> None:
    non_working = weekend_or(frozenset({NEW_YEAR_2027}))
    assert non_working(date(2027, 3, 6))  # Saturday
    assert non_working(date(2027, 3, 7))  # Sunday
    assert non_working(NEW_YEAR_2027)
    assert not non_working(date(2027, 3, 8))


# ---------------------------------------------------------------- statuses

VISIT = CalendarVisit(
    code="M1",
    name_key="visit.month_1",
    kind=VisitKind.CLINIC,
    anchor=Anchor.BASELINE_INFUSION,
    anchor_date=date(2027, 3, 1),
    target_date=date(2027, 4, 1),
    window_start=date(2027, 3, 25),
    window_end=date(2027, 4, 8),
    shifted=False,
)


@pytest.mark.parametrize(
    ("outcome", "today", "expected"),
    [
        (None, date(2027, 3, 24), VisitStatus.UPCOMING),
        (None, date(2027, 3, 25), VisitStatus.DUE),
        (None, date(2027, 4, 1), VisitStatus.DUE),
        (None, date(2027, 4, 8), VisitStatus.DUE),
        (None, date(2027, 4, 9), VisitStatus.MISSED),
        (
            VisitOutcome("attended", date(2027, 3, 25)),
            date(2027, 3, 25),
            VisitStatus.ATTENDED_IN_WINDOW,
        ),
        (
            VisitOutcome("attended", date(2027, 4, 8)),
            date(2027, 5, 1),
            VisitStatus.ATTENDED_IN_WINDOW,
        ),
        (
            VisitOutcome("attended", date(2027, 3, 24)),
            date(2027, 3, 24),
            VisitStatus.ATTENDED_OUT_OF_WINDOW,
        ),
        (
            VisitOutcome("attended", date(2027, 4, 9)),
            date(2027, 4, 20),
            VisitStatus.ATTENDED_OUT_OF_WINDOW,
        ),
        (VisitOutcome("missed", date(2027, 3, 30)), date(2027, 3, 30), VisitStatus.MISSED),
        (VisitOutcome("missed", date(2027, 4, 20)), date(2027, 4, 20), VisitStatus.MISSED),
    ],
)
def test_visit_status(outcome: VisitOutcome | None, today: date, expected: VisitStatus) -> None:
    assert visit_status(VISIT, outcome, today) is expected


def test_outcome_refuses_unknown_status() -> None:
    with pytest.raises(ValueError, match="attended"):
        VisitOutcome("cancelled", date(2027, 1, 1))  # type: ignore[arg-type]  # the point


def test_calendar_visit_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        VISIT.target_date = date(2027, 4, 2)  # type: ignore[misc]  # the point
