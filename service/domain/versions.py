"""Corrections are versions: the newest version of each record wins.

Infusions, visit outcomes and check-ins are append-only; a correction is a new row
under the same key and the history stays. What a participant or a coordinator sees
is the newest row of each key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

__all__ = ["newest_per_key"]

T = TypeVar("T")


def newest_per_key(rows_newest_first: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first (newest) row of each key, in the order given (newest first)."""
    seen: set[Hashable] = set()
    newest: list[T] = []
    for row in rows_newest_first:
        k = key(row)
        if k not in seen:
            seen.add(k)
            newest.append(row)
    return newest
