"""The newest version of each key wins; the order given (newest first) is kept."""

from __future__ import annotations

from service.domain.versions import newest_per_key


def test_the_first_row_of_each_key_wins_in_the_given_order() -> None:
    rows = [("b", 3), ("a", 2), ("b", 2), ("a", 1), ("c", 1), ("b", 1)]
    assert newest_per_key(rows, key=lambda row: row[0]) == [("b", 3), ("a", 2), ("c", 1)]


def test_nothing_in_nothing_out() -> None:
    assert newest_per_key([], key=lambda row: row) == []
