"""Plausibility rules for the dates staff type in.

A typo in a baseline date silently shifts twelve months of visits and reminders, so
dates far from "today" are refused rather than trusted. The trial was registered in
2019; nobody is enrolled with a baseline before then, and nobody is planned more
than 90 days ahead.
"""

from __future__ import annotations

from datetime import date, timedelta

EARLIEST_BASELINE = date(2019, 1, 1)
MAX_DAYS_AHEAD = 90
SECOND_INFUSION_MIN_DAYS = 60
SECOND_INFUSION_MAX_DAYS = 365


def baseline_problem(baseline: date, today: date) -> str | None:
    if baseline < EARLIEST_BASELINE:
        return f"must not be before {EARLIEST_BASELINE.isoformat()} (the trial's start)"
    if baseline > today + timedelta(days=MAX_DAYS_AHEAD):
        return f"must not be more than {MAX_DAYS_AHEAD} days in the future"
    return None


def infusion_problem(number: int, when: date, baseline: date, today: date) -> str | None:
    """Why an actual infusion date cannot be right, or None."""
    if when > today:
        return "is in the future; record an infusion once it has happened"
    if number == 1:
        return baseline_problem(when, today)
    if when <= baseline:
        return f"must be after the baseline infusion ({baseline.isoformat()})"
    gap = (when - baseline).days
    if gap < SECOND_INFUSION_MIN_DAYS or gap > SECOND_INFUSION_MAX_DAYS:
        return (
            f"is {gap} days after baseline; the second infusion must be "
            f"{SECOND_INFUSION_MIN_DAYS}-{SECOND_INFUSION_MAX_DAYS} days after it"
        )
    return None


def visit_date_problem(when: date, baseline: date, today: date) -> str | None:
    if when > today:
        return "is in the future"
    if when < baseline - timedelta(days=60):
        return "is long before the baseline infusion"
    return None


def preferred_time_problem(value: str) -> str | None:
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return "must be HH:MM"
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        return "must be a time of day between 00:00 and 23:59"
    return None
