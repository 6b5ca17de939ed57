"""Protocol-file sections read apart from the loader: the daily budget.

Kept apart from :mod:`service.domain.protocol_loader` (already the largest module)
but checked the same way: every fault names the file, the entry and the fix. The
loader passes its entries in; they are typed here by what is used of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn, Protocol

from service.domain.protocol import DailyBudget


class Entry(Protocol):
    """What the loader's entry offers: its table, failing with its name, key checks."""

    table: dict[str, Any]

    def fail(self, problem: str) -> NoReturn: ...

    def check_keys(
        self, required: Iterable[str], optional: Iterable[str] = (), what: str = "key"
    ) -> None: ...

    def integer(self, key: str, minimum: int | None = None, default: int | None = None) -> int: ...


def daily_budget(e: Entry, codes: set[str]) -> DailyBudget:
    """``[daily_budget]``; ``codes`` are the file's reminder and check-in codes."""
    e.check_keys(required=("max_per_day", "min_gap_minutes"), optional=("priority", "never_drop"))
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("priority", "never_drop"):
        value = e.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            e.fail(f"{key} must be a list of reminder or check-in codes")
        unknown = [v for v in value if v not in codes]
        if unknown:
            e.fail(
                f"{key}: unknown code(s) {', '.join(unknown)}; use [[reminders]]/[[checkins]] codes"
            )
        if len(set(value)) != len(value):
            e.fail(f"{key} lists a code twice")
        lists[key] = tuple(value)
    gap = e.integer("min_gap_minutes", minimum=0)
    if gap > 12 * 60:
        e.fail(f"min_gap_minutes must be at most 720 (12 hours), got {gap}")
    return DailyBudget(
        max_per_day=e.integer("max_per_day", minimum=1),
        min_gap_minutes=gap,
        priority=lists["priority"],
        never_drop=frozenset(lists["never_drop"]),
    )
