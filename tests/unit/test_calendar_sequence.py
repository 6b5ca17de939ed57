from __future__ import annotations

from service.domain.calendar_sequence import event_sequences


def test_each_event_counts_only_its_own_changes() -> None:
    v0 = {"M1": ("2027-01-01", False), "M2": ("2027-02-01", False)}
    v1 = {"M1": ("2027-01-01", False), "M2": ("2027-02-05", False)}  # M2 moved
    v2 = {"M1": ("2027-01-01", True), "M2": ("2027-02-05", True)}  # withdrawal
    assert event_sequences([v0]) == {"M1": 0, "M2": 0}
    assert event_sequences([v0, v1]) == {"M1": 0, "M2": 1}
    assert event_sequences([v0, v1, v2]) == {"M1": 1, "M2": 2}


def test_an_unchanged_replay_never_raises_and_a_returning_event_does() -> None:
    v0 = {"A": 1}
    assert event_sequences([v0, dict(v0), dict(v0)]) == {"A": 0}
    assert event_sequences([v0, {}, v0]) == {"A": 1}
    assert event_sequences([{}, {"B": 1}]) == {"B": 0}
    assert event_sequences([]) == {}
