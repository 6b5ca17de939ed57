"""Days the clinics are closed: weekends and Chile's public holidays.

The pure calendar takes a predicate; this adapter builds it from the `holidays`
package (which ships its rules, so nothing is downloaded at run time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _chile_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("CL", years=year).keys())


def chile_non_working_day(day: date) -> bool:
    return day.weekday() >= 5 or day in _chile_holidays(day.year)


def non_working_predicate() -> Callable[[date], bool]:
    return chile_non_working_day
