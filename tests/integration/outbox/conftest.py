"""Fixtures shared by the outbox's re-planning tests."""

import pytest

from service.actions.outbox import _replan


@pytest.fixture(params=["one batch after another", "the next batch planned ahead"])
def either_pace(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways a re-plan can go on either database: PostgreSQL plans a batch while
    the one before it commits, SQLite one after the other (decision 0131)."""
    ahead = request.param == "the next batch planned ahead"
    monkeypatch.setattr(_replan, "_plans_ahead", lambda: ahead)
